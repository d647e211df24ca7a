using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Closeloop.Insights;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

/// <summary>The spike detector's arithmetic, and the recurring-cause loop end to end over HTTP and real SMTP.</summary>
public sealed class RecurringCauseTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-03-30T12:00:00Z", CultureInfo.InvariantCulture);
    private const string BillingText = "I was charged twice for the same order, the bill shows a double charge on my card";

    [Theory]
    [InlineData(5, 2.0, 0.052653)]
    [InlineData(20, 10.0, 0.003454)]
    [InlineData(1, 0.5, 0.393469)]
    [InlineData(0, 3.0, 1.0)]
    [InlineData(60, 20.0, 4.2333e-13)]
    public void PoissonTailMatchesPublishedValues(long k, double lambda, double expected)
    {
        var p = SpikeDetector.PoissonUpperTail(k, lambda);
        Assert.InRange(p, expected * 0.98, expected * 1.02 + 1e-15);
    }

    [Fact]
    public void LogFactorialIsExactAcrossTheSwitchToStirling()
    {
        for (var n = 0; n < 60; n++)
        {
            var exact = Enumerable.Range(1, n).Sum(i => Math.Log(i));
            Assert.Equal(exact, SpikeDetector.LogFactorial(n), 9);
        }
    }

    [Fact]
    public void ASteadyCauseDoesNotFireAndARiseDoes()
    {
        var settings = new SpikeSettings();
        long[] steady = [4, 6, 5, 3, 5, 7, 4, 5, 6, 4, 5, 5, 6, 4];
        Assert.False(SpikeDetector.Evaluate(steady, 8, settings).Rise);
        var rise = SpikeDetector.Evaluate(steady, 16, settings);
        Assert.True(rise.Rise);
        Assert.InRange(rise.Expected, 4, 6);
        Assert.True(rise.PValue < 0.001);
    }

    [Fact]
    public void ARareCauseNeedsTheMinimumCountAndABusyOneTheMinimumRatio()
    {
        var settings = new SpikeSettings();
        long[] silent = new long[14];
        // Four mentions of a cause nobody raised before are significant, but too few to call a trend.
        Assert.False(SpikeDetector.Evaluate(silent, 4, settings).Rise);
        Assert.True(SpikeDetector.Evaluate(silent, 5, settings).Rise);
        // A busy cause 20% above normal is statistically significant under Poisson, but not a rise worth a department's time.
        long[] busy = Enumerable.Repeat(1000L, 14).ToArray();
        var verdict = SpikeDetector.Evaluate(busy, 1200, settings);
        Assert.True(verdict.PValue < 0.001);
        Assert.False(verdict.Rise);
        Assert.True(SpikeDetector.Evaluate(busy, 1600, settings).Rise);
    }

    [Fact]
    public void TheBaselineFollowsALevelShiftSoAnOldRiseIsNotRaisedForever()
    {
        long[] shifted = [5, 5, 5, 5, 5, 5, 5, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20];
        var verdict = SpikeDetector.Evaluate(shifted, 22, new SpikeSettings());
        Assert.False(verdict.Rise);
        Assert.InRange(verdict.Expected, 18, 20);
    }

    [Fact]
    public void AWeekdayAfterAQuietWeekendIsComparedWithEarlierWeekdays()
    {
        // Four weeks of busy weekdays and quiet weekends; the window being judged is a Monday.
        long[] pattern = [12, 13, 11, 12, 14, 4, 3];
        var history = Enumerable.Range(0, 27).Select(i => pattern[(i + 1) % 7]).ToArray();
        Assert.Equal(3, history[^1]);
        var monday = SpikeDetector.Evaluate(history, 15, new SpikeSettings());
        Assert.False(monday.Rise);
        Assert.True(monday.Expected >= 12);
        Assert.True(monday.Dispersion > 1);
        Assert.True(SpikeDetector.Evaluate(history, 40, new SpikeSettings()).Rise);
    }

    [Theory]
    [InlineData("zorblax widget failure PIN 1234", "1234")]
    [InlineData("born 12/03/1985, please check", "1985")]
    [InlineData("my postcode is 90210", "90210")]
    [InlineData("write to bob@localhost", "bob")]
    [InlineData("IBAN GB82 WEST 1234 5698 7654 32", "GB82")]
    [InlineData("call (555) 123-4567 today", "555")]
    [InlineData("write to 12 Baker St, London NW1 6XE please", "6XE")]
    [InlineData("my postcode is sw1a 1aa", "1aa")]
    [InlineData("Ottawa K1A 0B1", "0B1")]
    [InlineData("account ٤٥٦٧٨٩١٢ was charged", "٤٥٦")]
    [InlineData("card １２３４５６７８", "１２３")]
    public void EvidenceMasksShortNumbersDatesAndCodesToo(string comment, string hidden)
    {
        var masked = RecurringCauseWorker.Mask(comment);
        Assert.DoesNotContain(hidden, masked, StringComparison.Ordinal);
    }

    [Fact]
    public void EvidenceKeepsTheSmallNumbersThatAreTheComplaint() =>
        Assert.Equal("Waited 40 minutes, called 3 times", RecurringCauseWorker.Mask("Waited 40 minutes, called 3 times"));

    [Fact]
    public void EvidenceMasksContactDetails()
    {
        var masked = RecurringCauseWorker.Mask("Call me on +44 20 7946 0958 or mail jane.doe@example.co.uk, account 12345678");
        Assert.DoesNotContain("7946", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("jane.doe", masked, StringComparison.Ordinal);
        Assert.DoesNotContain("12345678", masked, StringComparison.Ordinal);
        Assert.Contains("[email]", masked, StringComparison.Ordinal);
        Assert.Contains("[number]", masked, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARisingCauseReachesItsDepartmentAndShippingAFixTellsEachCustomerOnce(string provider)
    {
        using var smtp = new SmtpServer();
        var clock = new TestClock(Now);
        await using var app = new TestApp(provider, new Dictionary<string, string?>
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:From"] = "closeloop@example.com",
            ["Outbox:BaseBackoffSeconds"] = "0.05",
            ["Outbox:MaxBackoffSeconds"] = "1",
            // The test drives detection itself; the background sweep must not race it.
            ["Insights:SpikeCheckEvery"] = "P3650D",
            ["Insights:DigestEvery"] = "off",
        }, services => services.AddSingleton<TimeProvider>(clock));
        using var admin = app.Admin();

        var analysis = await (await admin.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString(BillingText)}")).ReadJsonAsync();
        var cause = analysis.GetProperty("rootCause").GetProperty("code").GetString()!;
        var department = (await (await admin.GetAsync("/api/v1/root-causes")).ReadJsonAsync()).EnumerateArray()
            .First(c => c.GetProperty("code").GetString() == cause).GetProperty("department").GetString()!;
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/users",
            new { email = "head@dept.example.com", name = "Dept head", role = "department", department, password = "correct horse battery" })).StatusCode);

        // Three weeks of one or two mentions a day, then eleven in the last 24 hours, from customers with e-mail addresses.
        var items = new List<object>();
        for (var day = 21; day >= 1; day--)
        {
            for (var i = 0; i < 1 + day % 2; i++)
            {
                items.Add(Record($"old-{day}-{i}", $"old-cust-{day}-{i}", Now.AddDays(-day).AddHours(-3 - i), site: "north"));
            }
        }
        for (var i = 0; i < 11; i++)
        {
            items.Add(Record($"new-{i}", $"new-cust-{i}", Now.AddHours(-1 - i), site: i % 3 == 0 ? "south" : "north",
                comment: i == 0 ? BillingText + ". Call me on 07700 900123" : null));
        }
        var batch = await admin.PostJsonAsync("/api/v1/responses/batch", items);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync("/api/v1/customers/new-cust-1", new { doNotContact = true })).StatusCode);

        // Detection: one cause alert for the cause, with the evidence, and none again the same day.
        var detected = await (await admin.PostAsync("/api/v1/cause-alerts/detect", null)).ReadJsonAsync();
        var alert = Assert.Single(detected.EnumerateArray(), a => a.GetProperty("cause").GetString() == cause);
        Assert.False(string.IsNullOrEmpty(alert.GetProperty("causeName").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/v1/cause-alerts?status=bogus")).StatusCode);
        Assert.Single((await (await admin.GetAsync($"/api/v1/cause-alerts?department={department.ToUpperInvariant()}&status=")).ReadJsonAsync()).EnumerateArray(),
            a => a.GetProperty("cause").GetString() == cause);
        Assert.Equal(11, alert.GetProperty("observed").GetInt64());
        Assert.InRange(alert.GetProperty("expected").GetDouble(), 1, 2);
        Assert.True(alert.GetProperty("pValue").GetDouble() < 0.001);
        Assert.Empty((await (await admin.PostAsync("/api/v1/cause-alerts/detect", null)).ReadJsonAsync()).EnumerateArray());
        var id = alert.GetProperty("id").GetInt64();
        var stored = await (await admin.GetAsync($"/api/v1/cause-alerts/{id}")).ReadJsonAsync();
        var evidence = stored.GetProperty("evidence");
        Assert.Equal("north,south", string.Join(',', evidence.GetProperty("sites").EnumerateArray().Select(s => s.GetProperty("site").GetString()).Order()));
        Assert.Contains(evidence.GetProperty("examples").EnumerateArray(), e => e.GetString()!.Contains("[number]", StringComparison.Ordinal));
        Assert.DoesNotContain(evidence.GetProperty("examples").EnumerateArray(), e => e.GetString()!.Contains("900123", StringComparison.Ordinal));
        Assert.Contains("Known issue", stored.GetProperty("proposedBroadcast").GetString(), StringComparison.Ordinal);

        // The department head hears of it by e-mail.
        await smtp.WaitForAsync(m => m.Any(x => x.Contains("head@dept.example.com", StringComparison.Ordinal) && x.Contains("Rising cause", StringComparison.Ordinal)));

        // A key of another department sees nothing of it; an executive key reads it but cannot work it; a recovery key may not read it.
        var executive = app.Client(await app.CreateKeyAsync("executive"));
        Assert.Equal(HttpStatusCode.OK, (await executive.GetAsync($"/api/v1/cause-alerts/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await executive.PostAsync($"/api/v1/cause-alerts/{id}/acknowledge", null)).StatusCode);
        var recovery = app.Client(await app.CreateKeyAsync("recovery"));
        Assert.Equal(HttpStatusCode.Forbidden, (await recovery.GetAsync("/api/v1/cause-alerts")).StatusCode);
        // The evidence counts every site's customers: a key confined to one site reads none of it, whatever its role.
        foreach (var role in new[] { "executive", "integration" })
        {
            using var scoped = app.Client(await app.CreateKeyAsync(role, "south"));
            Assert.Equal(HttpStatusCode.Forbidden, (await scoped.GetAsync($"/api/v1/cause-alerts/{id}")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await scoped.GetAsync("/api/v1/cause-alerts")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await scoped.GetAsync("/api/v1/improvement-actions")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/cause-alerts/{id}/acknowledge", null)).StatusCode);

        // The proposed broadcast goes out to agents as it stands, or edited; an executive may not broadcast.
        Assert.Equal(HttpStatusCode.Forbidden, (await executive.PostAsync($"/api/v1/cause-alerts/{id}/broadcast", null)).StatusCode);
        var posted = await admin.PostAsync($"/api/v1/cause-alerts/{id}/broadcast", null);
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        Assert.Contains("Known issue", (await posted.ReadJsonAsync()).GetProperty("message").GetString(), StringComparison.Ordinal);
        var edited = await admin.PostJsonAsync($"/api/v1/cause-alerts/{id}/broadcast", new { message = "Double charges: refund at once, no questions asked.", priority = "urgent" });
        Assert.Equal("urgent", (await edited.ReadJsonAsync()).GetProperty("priority").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostJsonAsync($"/api/v1/cause-alerts/{id}/broadcast", new { priority = "loud" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/v1/cause-alerts/{id}/acknowledge", null)).StatusCode);

        // An improvement action: bad input names its fields; a good one is created from the cause alert.
        var bad = await admin.PostJsonAsync("/api/v1/improvement-actions", new { cause = "no.such", title = "", dueAt = "soon" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.ReadJsonAsync()).GetProperty("errors");
        foreach (var field in new[] { "cause", "title", "owner", "dueAt" })
        {
            Assert.True(errors.TryGetProperty(field, out _), field);
        }
        var created = await admin.PostJsonAsync("/api/v1/improvement-actions", new
        {
            cause, title = "Stop double charges at checkout", owner = "head@dept.example.com", dueAt = Now.AddDays(7).ToString("O"), causeAlertId = id,
            message = "we fixed the payment retry that charged some cards twice, and refunded every double charge",
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var actionId = (await created.ReadJsonAsync()).GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/improvement-actions/{actionId}/status", new { status = "in_progress" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostJsonAsync($"/api/v1/improvement-actions/{actionId}/status", new { status = "done" })).StatusCode);

        // Shipping it tells the ten customers of the alert's window who may be told, and skips the one on do-not-contact.
        var shipped = await (await admin.PostJsonAsync($"/api/v1/improvement-actions/{actionId}/status", new { status = "shipped" })).ReadJsonAsync();
        Assert.Equal(10, shipped.GetProperty("customersTold").GetInt64());
        Assert.Equal(1, shipped.GetProperty("skipped").GetProperty("do-not-contact").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostJsonAsync($"/api/v1/improvement-actions/{actionId}/status", new { status = "shipped" })).StatusCode);
        var mails = await smtp.WaitForAsync(m => m.Count(x => x.Contains("You said, we did", StringComparison.Ordinal)) >= 10);
        var told = mails.Where(x => x.Contains("You said, we did", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, told.Count);
        Assert.DoesNotContain(told, m => m.Contains("new-cust-1@", StringComparison.Ordinal));
        Assert.All(told, m => Assert.Contains("refunded every double charge", m, StringComparison.Ordinal));

        // A second action on the same cause never tells the same customers again.
        var again = await admin.PostJsonAsync("/api/v1/improvement-actions", new { cause, title = "Second fix", owner = "head@dept.example.com", causeAlertId = id });
        var againId = (await again.ReadJsonAsync()).GetProperty("id").GetInt64();
        var second = await (await admin.PostJsonAsync($"/api/v1/improvement-actions/{againId}/status", new { status = "shipped" })).ReadJsonAsync();
        Assert.Equal(0, second.GetProperty("customersTold").GetInt64());
        Assert.Equal(10, second.GetProperty("skipped").GetProperty("already told").GetInt64());
        await Task.Delay(500);
        Assert.Equal(10, smtp.Messages().Count(x => x.Contains("You said, we did", StringComparison.Ordinal)));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task EachDepartmentGetsOneDigestPerPeriod(string provider)
    {
        using var smtp = new SmtpServer();
        var clock = new TestClock(Now);
        await using var app = new TestApp(provider, new Dictionary<string, string?>
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:From"] = "closeloop@example.com",
            ["Insights:SpikeCheckEvery"] = "P3650D",
        }, services => services.AddSingleton<TimeProvider>(clock));
        using var admin = app.Admin();
        var analysis = await (await admin.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString(BillingText)}")).ReadJsonAsync();
        var cause = analysis.GetProperty("rootCause").GetProperty("code").GetString()!;
        var department = (await (await admin.GetAsync("/api/v1/root-causes")).ReadJsonAsync()).EnumerateArray()
            .First(c => c.GetProperty("code").GetString() == cause).GetProperty("department").GetString()!;
        await admin.PostJsonAsync("/api/v1/users", new { email = "digest@dept.example.com", name = "Digest reader", role = "department", department, password = "correct horse battery" });
        // Monday 2026-03-30 12:00: the last complete week is 23–30 March.
        await admin.PostJsonAsync("/api/v1/responses/batch", new[] { Record("d1", "dc1", Now.AddDays(-3)), Record("d2", "dc2", Now.AddDays(-2)), Record("d3", "dc3", Now.AddDays(-9)) });

        // The background worker may send it first; either way a period's digest goes out once.
        await admin.PostAsync("/api/v1/insights/digests/send", null);
        Assert.Equal(0, (await (await admin.PostAsync("/api/v1/insights/digests/send", null)).ReadJsonAsync()).GetProperty("sent").GetInt32());
        static bool IsDigest(string m) => m.Contains("digest@dept.example.com", StringComparison.Ordinal) && m.Contains("Closeloop digest", StringComparison.Ordinal);
        var mails = await smtp.WaitForAsync(m => m.Any(IsDigest));
        var digest = Assert.Single(mails, IsDigest);
        Assert.Contains("2026-03-23", digest, StringComparison.Ordinal);
        Assert.Contains($"({cause}): 2 (1, +100%)", digest, StringComparison.Ordinal);

        // A week later the next period's digest goes out, once.
        clock.Advance(TimeSpan.FromDays(7));
        await admin.PostAsync("/api/v1/insights/digests/send", null);
        await admin.PostAsync("/api/v1/insights/digests/send", null);
        await smtp.WaitForAsync(m => m.Count(IsDigest) >= 2);
        await Task.Delay(300);
        Assert.Equal(2, smtp.Messages().Count(IsDigest));
    }

    private static object Record(string id, string customer, DateTimeOffset at, string site = "north", string? comment = null) => new
    {
        externalId = id,
        customer = new { externalId = customer, email = $"{customer}@example.com", name = customer },
        metric = "csat",
        score = 1,
        comment = comment ?? BillingText,
        respondedAt = at.ToString("O"),
        site,
        channel = "email",
    };
}
