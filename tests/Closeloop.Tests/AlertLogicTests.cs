using System.Globalization;
using System.Text.Json;
using Closeloop.Alerts;

namespace Closeloop.Tests;

/// <summary>Pure logic: business-hours arithmetic, the alert state machine and rule validation.</summary>
public sealed class AlertLogicTests
{
    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private static BusinessCalendar London(params string[] holidays) =>
        BusinessCalendar.For("Europe/London", """{"mon":["09:00-17:00"],"tue":["09:00-17:00"],"wed":["09:00-17:00"],"thu":["09:00-17:00"],"fri":["09:00-17:00"]}""",
            JsonSerializer.Serialize(holidays));

    [Fact]
    public void ADeadlineInsideOpeningHoursIsPlainAddition()
    {
        // Tuesday 10:00 London (GMT in November) + 2h = 12:00.
        Assert.Equal(At("2026-11-17T12:00:00Z"), London().Add(At("2026-11-17T10:00:00Z"), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void ADeadlineRaisedLateOnFridayFallsDueOnMonday()
    {
        // Friday 16:30: 30 minutes left that day, 90 minutes on Monday from 09:00.
        Assert.Equal(At("2026-11-23T10:30:00Z"), London().Add(At("2026-11-20T16:30:00Z"), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void ADeadlineRaisedOnTheWeekendStartsCountingOnMonday()
    {
        Assert.Equal(At("2026-11-23T11:00:00Z"), London().Add(At("2026-11-21T13:00:00Z"), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void HolidaysAreSkipped()
    {
        // Thursday 24 Dec 16:00 + 2h: one hour that day, then 25 and 26 are closed (26 is Saturday), 27 Sunday, Monday 28 from 09:00.
        var calendar = London("2026-12-25");
        Assert.Equal(At("2026-12-28T10:00:00Z"), calendar.Add(At("2026-12-24T16:00:00Z"), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void OpeningHoursFollowTheSitesTimeZoneAcrossDaylightSavingChanges()
    {
        // London moves to BST on 29 March 2026: 09:00 local is 08:00 UTC on Monday 30 March, 09:00 UTC the Friday before.
        var calendar = London();
        Assert.Equal(At("2026-03-30T09:00:00Z"), calendar.Add(At("2026-03-27T15:00:00Z"), TimeSpan.FromHours(3)));
        // New York: 16:00 EDT on Friday 30 Oct 2026 + 2h: 1h that day, then Monday 2 Nov 09:00 EST (14:00 UTC) + 1h.
        var newYork = BusinessCalendar.For("America/New_York", null, null);
        Assert.Equal(At("2026-11-02T15:00:00Z"), newYork.Add(At("2026-10-30T20:00:00Z"), TimeSpan.FromHours(2)));
    }

    [Fact]
    public void ASiteFarEastCountsInItsOwnDay()
    {
        // Manila is UTC+8: 09:00-17:00 local is 01:00-09:00 UTC. 08:30 UTC Monday + 1h = 30 min Monday, 30 min Tuesday from 01:00 UTC.
        var manila = BusinessCalendar.For("Asia/Manila", null, null);
        Assert.Equal(At("2026-11-17T01:30:00Z"), manila.Add(At("2026-11-16T08:30:00Z"), TimeSpan.FromHours(1)));
    }

    [Fact]
    public void OpeningTimeBetweenTwoInstantsCountsOnlyOpenHours()
    {
        var calendar = London();
        Assert.Equal(TimeSpan.FromHours(2), calendar.Between(At("2026-11-20T16:00:00Z"), At("2026-11-23T10:00:00Z")));
        Assert.Equal(TimeSpan.Zero, calendar.Between(At("2026-11-21T10:00:00Z"), At("2026-11-21T12:00:00Z")));
    }

    [Fact]
    public void WaitingOnTheCustomerPausesTheClockAndResumingKeepsWhatWasLeft()
    {
        var calendar = London();
        var alert = NewAlert(At("2026-11-20T15:00:00Z"), calendar.Add(At("2026-11-20T15:00:00Z"), TimeSpan.FromHours(2)), "business");
        Assert.Equal(At("2026-11-20T17:00:00Z"), alert.DueAt);

        alert.WaitOnCustomer(At("2026-11-20T16:00:00Z"), calendar);
        Assert.Equal(3_600_000, alert.RemainingMs);
        Assert.False(alert.IsOverdue(At("2026-11-24T00:00:00Z")));

        // Resumed on Tuesday 11:00: the hour left runs to 12:00.
        alert.CustomerReached(At("2026-11-24T11:00:00Z"), calendar);
        Assert.Equal(At("2026-11-24T12:00:00Z"), alert.DueAt);
        Assert.Equal(AlertStatus.Acknowledged, alert.Status);
    }

    [Fact]
    public void AroundTheClockPauseAndResumeKeepsTheRemainingTime()
    {
        var calendar = BusinessCalendar.For("UTC", null, null);
        var alert = NewAlert(At("2026-11-21T10:00:00Z"), At("2026-11-21T12:00:00Z"), "24x7");
        alert.WaitOnCustomer(At("2026-11-21T11:30:00Z"), calendar);
        alert.RecordStep(ActionTypes.ContactAttempted, At("2026-11-22T08:00:00Z"), calendar);
        Assert.Equal(At("2026-11-22T08:30:00Z"), alert.DueAt);
    }

    private static Alert NewAlert(DateTimeOffset created, DateTimeOffset due, string clock = "24x7") =>
        new() { TriggerKind = "response", Owner = "a@example.com", Clock = clock, CreatedAt = created, DueAt = due, FirstDueAt = due };

    public static TheoryData<string, string, string?> Transitions()
    {
        // (from, action, resulting state or null when refused)
        var data = new TheoryData<string, string, string?>();
        var table = new Dictionary<string, Dictionary<string, string?>>
        {
            ["acknowledge"] = new() { ["open"] = "acknowledged", ["acknowledged"] = null, ["waiting_on_customer"] = null, ["resolved"] = null, ["closed"] = null },
            ["note"] = new() { ["open"] = "open", ["acknowledged"] = "acknowledged", ["waiting_on_customer"] = "waiting_on_customer", ["resolved"] = "resolved", ["closed"] = null },
            ["contact_attempted"] = new() { ["open"] = "acknowledged", ["acknowledged"] = "acknowledged", ["waiting_on_customer"] = "acknowledged", ["resolved"] = null, ["closed"] = null },
            ["customer_reached"] = new() { ["open"] = "acknowledged", ["acknowledged"] = "acknowledged", ["waiting_on_customer"] = "acknowledged", ["resolved"] = null, ["closed"] = null },
            ["wait_on_customer"] = new() { ["open"] = "waiting_on_customer", ["acknowledged"] = "waiting_on_customer", ["waiting_on_customer"] = null, ["resolved"] = null, ["closed"] = null },
            ["root_cause_tagged"] = new() { ["open"] = "open", ["acknowledged"] = "acknowledged", ["waiting_on_customer"] = "waiting_on_customer", ["resolved"] = "resolved", ["closed"] = null },
            ["resolve"] = new() { ["open"] = "resolved", ["acknowledged"] = "resolved", ["waiting_on_customer"] = "resolved", ["resolved"] = null, ["closed"] = null },
            ["close"] = new() { ["open"] = null, ["acknowledged"] = null, ["waiting_on_customer"] = null, ["resolved"] = "closed", ["closed"] = null },
            ["reopen"] = new() { ["open"] = null, ["acknowledged"] = null, ["waiting_on_customer"] = null, ["resolved"] = "open", ["closed"] = "open" },
            ["reassign"] = new() { ["open"] = "open", ["acknowledged"] = "acknowledged", ["waiting_on_customer"] = "waiting_on_customer", ["resolved"] = null, ["closed"] = null },
        };
        foreach (var (action, outcomes) in table)
        {
            foreach (var (from, to) in outcomes)
            {
                data.Add(from, action, to);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(Transitions))]
    public void EveryTransitionIsAllowedOrRefusedAsTheStateMachineSays(string from, string action, string? expected)
    {
        var calendar = BusinessCalendar.For("UTC", null, null);
        var now = At("2026-11-21T10:00:00Z");
        var alert = NewAlert(now, now.AddHours(2));
        alert.Status = from;
        if (from == AlertStatus.WaitingOnCustomer)
        {
            alert.RemainingMs = 3_600_000;
            alert.PausedAt = now;
        }
        void Act()
        {
            switch (action)
            {
                case "acknowledge": alert.Acknowledge(now); break;
                case "note": alert.Note(); break;
                case "contact_attempted": alert.RecordStep(action, now, calendar); break;
                case "customer_reached": alert.CustomerReached(now, calendar); break;
                case "wait_on_customer": alert.WaitOnCustomer(now, calendar); break;
                case "root_cause_tagged": alert.TagRootCause("product.defect"); break;
                case "resolve": alert.Resolve("product.defect", "Replaced the part", now); break;
                case "close": alert.Close(now); break;
                case "reopen": alert.Reopen(now, now.AddHours(2), activeAlertId: null); break;
                case "reassign": alert.Reassign("b@example.com"); break;
            }
        }

        if (expected is null)
        {
            Assert.Throws<AlertTransitionException>(Act);
            Assert.Equal(from, alert.Status);
        }
        else
        {
            Act();
            Assert.Equal(expected, alert.Status);
        }
    }

    [Fact]
    public void EscalationRaisesTheLevelAndPausedOrClosedAlertsDoNotEscalate()
    {
        var now = At("2026-11-21T10:00:00Z");
        var alert = NewAlert(now, now.AddHours(1));
        Assert.True(alert.IsOverdue(now.AddHours(1)));
        alert.Escalate("manager@example.com", now.AddHours(2));
        Assert.Equal(1, alert.EscalationLevel);
        Assert.Equal("manager@example.com", alert.Owner);
        alert.Status = AlertStatus.WaitingOnCustomer;
        Assert.Throws<AlertTransitionException>(() => alert.Escalate("x@example.com", now));
        Assert.False(alert.IsOverdue(now.AddDays(3)));
    }

    [Fact]
    public void ACustomerReachedInTimeMetTheDeadlineAndNothingIsWarnedOrEscalatedAfter()
    {
        var now = At("2026-11-21T10:00:00Z");
        var alert = NewAlert(now, now.AddHours(2));
        alert.Status = AlertStatus.Acknowledged;
        alert.ReachedAt = now.AddMinutes(10);
        Assert.False(alert.NeedsWarning(now.AddHours(1.9), TimeSpan.FromMinutes(30)));
        Assert.False(alert.IsOverdue(now.AddHours(3)));
    }

    [Fact]
    public void AMisspeltFieldOfARuleIsNamedAndWhatAGetShowsMayComeBack()
    {
        var (rule, errors) = Parse("""{"name":"Typo","when":{"field":"score","op":"lte","value":1},"deadline":"PT1H","escalations":[{"after":"PT1H","to":"siteManager"}]}""");
        Assert.Null(rule);
        Assert.Equal(["escalations"], errors.Keys);
        var (roundTrip, none) = Parse("""{"id":7,"name":"As read","when":{"field":"score","op":"lte","value":1},"deadline":"PT1H","enabled":true,"createdAt":"2026-11-01T00:00:00Z","updatedAt":null}""");
        Assert.NotNull(roundTrip);
        Assert.Empty(none);
    }

    private static (AlertRuleDefinition? Rule, Dictionary<string, string[]> Errors) Parse(string json)
    {
        var errors = new Dictionary<string, string[]>();
        using var document = JsonDocument.Parse(json);
        return (AlertRuleDefinition.Parse(document.RootElement, errors), errors);
    }

    private static AlertFacts Facts(string metric = "csat", int score = 1, string? comment = null, double sentiment = 0, string channel = "phone") =>
        new("response", metric, score, sentiment, comment is null ? null : AlertRuleDefinition.NormalizeText(comment), [], null, null, null, channel, "north", null, null, null, null, null);

    [Fact]
    public void TheExampleRuleIsAcceptedAsItStandsAndMatchesAVeryUnhappyCustomer()
    {
        var (rule, errors) = Parse("""
            {"name": "Very unhappy customer", "enabled": true,
             "when": {"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]},
             "owner": {"kind": "pool", "name": "recovery"},
             "deadline": "PT2H", "clock": "24x7",
             "escalation": [{"after": "PT1H", "to": {"kind": "siteManager"}}]}
            """);
        Assert.Empty(errors);
        Assert.NotNull(rule);
        Assert.True(rule.Matches(Facts("csat", 2)));
        Assert.False(rule.Matches(Facts("csat", 3)));
        Assert.False(rule.Matches(Facts("nps", 1)));
        Assert.Equal(TimeSpan.FromHours(2), rule.Deadline);
        Assert.Equal("siteManager", rule.Escalation[0].To.Kind);
    }

    [Theory]
    [InlineData("""{"field":"sentiment","op":"lt","value":-0.5}""", "I am furious", -0.8, true)]
    [InlineData("""{"field":"comment","op":"containsAny","value":["cancel my account","lawyer"]}""", "I will CANCEL my account today!", 0.0, true)]
    [InlineData("""{"field":"comment","op":"contains","value":"cancel"}""", "cancellation fee", 0.0, false)]
    [InlineData("""{"field":"comment","op":"containsAny","value":["lawyer"]}""", "My lawyer's letter is coming", 0.0, true)]
    [InlineData("""{"field":"comment","op":"contains","value":"it's broken"}""", "It\u2019s broken again", 0.0, true)]
    [InlineData("""{"field":"comment","op":"contains","value":"don't"}""", "I don't care", 0.0, true)]
    [InlineData("""{"field":"npsCategory","op":"eq","value":"detractor"}""", null, 0.0, false)]
    [InlineData("""{"not":{"field":"channel","op":"in","value":["email","chat"]}}""", null, 0.0, true)]
    public void ConditionsMatchOnWordsSentimentCategoriesAndNegation(string condition, string? comment, double sentiment, bool expected)
    {
        var (rule, errors) = Parse($$"""{"name":"r","when":{{condition}},"owner":{"kind":"pool","name":"qa"},"deadline":"PT5S"}""");
        Assert.Empty(errors);
        Assert.Equal(expected, rule!.Matches(Facts("csat", 2, comment, sentiment)));
    }

    [Theory]
    [InlineData("""{"all":[{"field":"colour","op":"eq","value":"red"}]}""", "when.all[0].field")]
    [InlineData("""{"all":[{"field":"score","op":"like","value":2}]}""", "when.all[0].op")]
    [InlineData("""{"all":[{"field":"score","op":"lte","value":"two"}]}""", "when.all[0].value")]
    [InlineData("""{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"gte","value":6}]}""", "when")]
    [InlineData("""{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"metric","op":"eq","value":"nps"}]}""", "when")]
    [InlineData("""{"all":[{"field":"score","op":"gte","value":4},{"field":"score","op":"lte","value":2}]}""", "when")]
    [InlineData("""{"all":[{"field":"sentiment","op":"lt","value":-1}]}""", "when")]
    [InlineData("""{"any":[]}""", "when.any")]
    [InlineData("""{"all":[{"field":"channel","op":"eq","value":"fax"}]}""", "when.all[0].value")]
    [InlineData("""{"all":[{"field":"channel","op":"eq","value":"phone"},{"field":"channel","op":"eq","value":"chat"}]}""", "when")]
    [InlineData("""{"all":[{"field":"score","op":"lte","value":2},{"not":{"field":"score","op":"lte","value":2}}]}""", "when")]
    [InlineData("""{"all":[{"not":{"any":[{"field":"queue","op":"eq","value":"Billing"}]}},{"any":[{"field":"queue","op":"eq","value":"billing"}]}]}""", "when")]
    [InlineData("""{"all":[{"field":"npsCategory","op":"eq","value":"detractor"},{"field":"npsCategory","op":"eq","value":"promoter"}]}""", "when")]
    public void ARuleThatNamesAnUnknownFieldOrCanNeverFireIsRefused(string when, string errorField)
    {
        var (rule, errors) = Parse($$"""{"name":"r","when":{{when}},"owner":{"kind":"pool","name":"qa"},"deadline":"PT2H"}""");
        Assert.Null(rule);
        Assert.Contains(errorField, errors.Keys);
    }

    [Fact]
    public void OwnerDeadlineClockAndEscalationAreValidated()
    {
        var (rule, errors) = Parse("""{"name":"r","when":{"field":"score","op":"lte","value":2},"owner":{"kind":"boss"},"deadline":"2 hours","clock":"sometimes","escalation":[{"after":"soon","to":{"kind":"user"}}]}""");
        Assert.Null(rule);
        Assert.Contains("owner.kind", errors.Keys);
        Assert.Contains("deadline", errors.Keys);
        Assert.Contains("clock", errors.Keys);
        Assert.Contains("escalation[0].after", errors.Keys);
        Assert.Contains("escalation[0].to.email", errors.Keys);
    }

    [Theory]
    [InlineData("PT2H", 7200.0)]
    [InlineData("P1DT30M", 88200.0)]
    [InlineData("PT0.5S", 0.5)]
    [InlineData("P2W", 1209600.0)]
    [InlineData("P1W2D", 777600.0)]
    [InlineData("PT1.5H", 5400.0)]
    [InlineData("PT2,5M", 150.0)]
    [InlineData("P0.5D", 43200.0)]
    [InlineData("PT1H0.5M", 3630.0)]
    public void DurationsAreReadAsIso8601IncludingWeeksAndFractionsOfTheSmallestUnit(string text, double seconds)
    {
        Assert.True(AlertRuleDefinition.TryDuration(text, out var span));
        Assert.Equal(TimeSpan.FromSeconds(seconds), span);
    }

    [Theory]
    [InlineData("P1.5DT2H")]
    [InlineData("PT1.5H30M")]
    [InlineData("P")]
    [InlineData("PT")]
    [InlineData("P1DT")]
    [InlineData("P2W1Y")]
    [InlineData("2 hours")]
    [InlineData("PT.5H")]
    [InlineData("P99999999999999999999999999999999W")]
    public void DurationsThatAreNotIso8601AreRefused(string text)
    {
        Assert.False(AlertRuleDefinition.TryDuration(text, out _));
    }

    [Fact]
    public void AllDayEventsOfAnICalendarBecomeHolidays()
    {
        var ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas Day\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261226\r\nEND:VEVENT\r\n" +
            "BEGIN:VEVENT\r\nSUMMARY:Company shutdown\r\nDTSTART;VALUE=DATE:20261228\r\nDTEND;VALUE=DATE:20261231\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

        var days = ICalHolidays.Parse(ics);

        Assert.Equal([new DateOnly(2026, 12, 25), new DateOnly(2026, 12, 28), new DateOnly(2026, 12, 29), new DateOnly(2026, 12, 30)], days);
    }
}
