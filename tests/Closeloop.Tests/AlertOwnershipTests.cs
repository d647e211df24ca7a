using System.Net;
using System.Text.Json;
using Closeloop.Alerts;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Closeloop.Tests.AlertFlowTests;

namespace Closeloop.Tests;

/// <summary>Who holds an alert: one active alert per customer and rule at a site, escalation levels with nobody in them, and owners that must exist.</summary>
public sealed class AlertOwnershipTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static async Task<long[]> ActiveAlertsAsync(HttpClient client, string customer) =>
        [.. (await (await client.GetAsync($"/api/v1/alerts?status=active&customer={customer}")).ReadJsonAsync()).GetProperty("items")
            .EnumerateArray().Select(a => a.GetProperty("id").GetInt64())];

    /// <summary>A score of 1 or 2 on CSAT raises an alert for the recovery pool, due in two hours.</summary>
    private static async Task LowCsatRuleAsync(HttpClient admin) =>
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low CSAT","when":{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"lte","value":2}]},"owner":"pool:recovery","deadline":"PT2H"}
            """)).StatusCode);

    private static async Task<JsonElement> AlertAsync(HttpClient client, long id) => await (await client.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync();

    private static async Task<Dictionary<string, string[]>> ErrorsAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"400 expected, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnOwnerWhoCouldNotOpenTheAlertNeverGetsItAndTheSitesManagerDoes(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await SetUpPeopleAsync(admin, "north");
        await SetUpPeopleAsync(admin, "vendor");
        // North's "billing" team and its supervisor; a vendor's records name a team "billing" too (team codes are shared).
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("setup"), site: "north", team: "billing"));
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/users", new { email = "sam@north.example.com", role = "supervisor", site = "north", team = "billing", password = "correct horse battery" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/v1/teams/billing/supervisor", System.Net.Http.Json.JsonContent.Create(new { supervisor = "sam@north.example.com" }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low CSAT","when":{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"lte","value":2}]},"owner":"teamSupervisor","deadline":"PT2H"}
            """)).StatusCode);
        // A rule naming north's supervisor, for every site's churn threats.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Churn","when":{"field":"comment","op":"contains","value":"close my account"},"owner":"user:sam@north.example.com","deadline":"PT2H"}
            """)).StatusCode);

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("north-low", "CUST-N", "csat", 1, site: "north", team: "billing"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("vendor-low", "CUST-V", "csat", 1, site: "vendor", team: "billing"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("vendor-churn", "CUST-V2", "csat", 4, "I will close my account", site: "vendor"));

        Assert.Equal("sam@north.example.com", (await AlertAsync(admin, Assert.Single(await ActiveAlertsAsync(admin, "CUST-N")))).GetProperty("owner").GetString());
        // Sam could not open the vendor's alerts: its site manager owns them.
        Assert.Equal("mia@vendor.example.com", (await AlertAsync(admin, Assert.Single(await ActiveAlertsAsync(admin, "CUST-V")))).GetProperty("owner").GetString());
        Assert.Equal("mia@vendor.example.com", (await AlertAsync(admin, Assert.Single(await ActiveAlertsAsync(admin, "CUST-V2")))).GetProperty("owner").GetString());

        // A read-only executive is refused as a rule's owner, as a reassignment to them is.
        await admin.CreateUserAsync("eve@example.com", "executive");
        var errors = await ErrorsAsync(await admin.PostRawAsync("/api/v1/alert-rules",
            """{"name":"Exec","when":{"field":"score","op":"lte","value":1},"owner":"user:eve@example.com","deadline":"PT2H"}"""));
        Assert.Contains("may not work alerts", errors["owner"].Single(), StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task WhenSeveralRulesMatchTheMostUrgentGivesTheAlertItsOwnerAndDeadline(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, clock) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await SetUpPeopleAsync(admin, "south");
        await LowCsatRuleAsync(admin);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Legal threat","when":{"field":"signal","op":"eq","value":"legal_threat"},"owner":"siteManager","deadline":"PT30M"}
            """)).StatusCode);

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("lawyer-1", "CUST-LAW", "csat", 1, "I will contact my lawyer about this.", at: Start, site: "south"));

        var alert = await AlertAsync(admin, Assert.Single(await ActiveAlertsAsync(admin, "CUST-LAW")));
        Assert.Equal("Legal threat", alert.GetProperty("rule").GetString());
        Assert.Equal("mia@south.example.com", alert.GetProperty("owner").GetString());
        Assert.Equal(clock.GetUtcNow().AddMinutes(30), alert.GetProperty("dueAt").GetDateTimeOffset());
        var created = alert.GetProperty("actions").EnumerateArray().First(a => a.GetProperty("type").GetString() == "created");
        Assert.Contains("Low CSAT", created.GetRawText(), StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARepeatContactIsAlertedWhicheverOfTheTwoContactsArrivesFirst(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        const string site = "south";
        await SetUpPeopleAsync(admin, site);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Repeat contact","when":{"all":[{"field":"record","op":"eq","value":"contact"},{"field":"repeatContact","op":"eq","value":true}]},"owner":"pool:recovery","deadline":"PT2H"}
            """)).StatusCode);
        object Contact(string id, string customer, DateTimeOffset at) => new
        {
            externalId = id, customer = new { externalId = customer }, channel = "phone", occurredAt = at, site, reason = "card_arrival", resolved = false,
        };

        // In order, one at a time: the second contact is the repeat that fires the rule.
        await admin.PostJsonAsync("/api/v1/contacts", Contact("in-order-1", "CUST-IN-ORDER", Start.AddDays(-2)));
        await admin.PostJsonAsync("/api/v1/contacts", Contact("in-order-2", "CUST-IN-ORDER", Start));
        // Newest first, one at a time and in one batch (a CRM export newest first): the same alert, on the same contact.
        await admin.PostJsonAsync("/api/v1/contacts", Contact("late-2", "CUST-LATE", Start));
        await admin.PostJsonAsync("/api/v1/contacts", Contact("late-1", "CUST-LATE", Start.AddDays(-2)));
        (await admin.PostJsonAsync("/api/v1/contacts/batch", new[] { Contact("batch-2", "CUST-BATCH", Start), Contact("batch-1", "CUST-BATCH", Start.AddDays(-2)) })).EnsureSuccessStatusCode();

        foreach (var (customer, repeat) in new[] { ("CUST-IN-ORDER", "in-order-2"), ("CUST-LATE", "late-2"), ("CUST-BATCH", "batch-2") })
        {
            var alert = await AlertAsync(admin, Assert.Single(await ActiveAlertsAsync(admin, customer)));
            Assert.Equal(repeat, alert.GetProperty("trigger").GetProperty("externalId").GetString());
            Assert.Equal(1, alert.GetProperty("matches").GetInt32());
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ACustomerNoMessageCanReachIsSaidSoAndAPersonRecordsTellingThem(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, clock) = NewApp(provider, smtp);
        await using var _ = app;
        using var admin = app.Admin();
        const string site = "south";
        await SetUpPeopleAsync(admin, site);
        await LowCsatRuleAsync(admin);
        // Known by phone only, and no webhook takes SMS messages: nothing can carry the outcome.
        await admin.PostJsonAsync("/api/v1/responses", new
        {
            externalId = "phone-only-1", customer = new { externalId = "CUST-PHONE", phone = "+44 20 7946 0000" }, metric = "csat", score = 1,
            comment = "Nobody called me back", respondedAt = Start, site, channel = "phone",
        });
        var id = Assert.Single(await ActiveAlertsAsync(admin, "CUST-PHONE"));
        await PostActionAsync(admin, id, new { type = "customer_reached", channel = "phone" });
        await PostActionAsync(admin, id, new { type = "resolve", rootCause = "process.long-wait", outcome = "Called back and refunded the fee" });

        var notTold = (await AlertAsync(admin, id)).GetProperty("actions").EnumerateArray().Single(a => a.GetProperty("type").GetString() == "customer_not_told");
        Assert.Contains("webhook", notTold.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, (await AlertAsync(admin, id)).GetProperty("customerToldAt").ValueKind);

        // The owner told them on the call; the loop is closed.
        clock.Advance(TimeSpan.FromMinutes(3));
        await PostActionAsync(admin, id, new { type = "customer told", channel = "phone", note = "Explained the refund on the call" });
        var told = await AlertAsync(admin, id);
        Assert.Equal(clock.GetUtcNow(), told.GetProperty("customerToldAt").GetDateTimeOffset());
        var measures = (await (await admin.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync()).GetProperty("total").GetProperty("alerts");
        Assert.Equal(100.0, measures.GetProperty("closedLoop").GetProperty("value").GetDouble());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AResolvedAlertIsNotReopenedWhileANewerAlertOfTheSameCustomerAndRuleIsActive(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, clock) = NewApp(provider, smtp);
        await using var _ = app;
        using var admin = app.Admin();
        const string site = "south";
        await SetUpPeopleAsync(admin, site);
        await LowCsatRuleAsync(admin);

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("low-1", "CUST-B", "csat", 1, "Nobody called me back", at: Start, site: site));
        var first = Assert.Single(await ActiveAlertsAsync(admin, "CUST-B"));
        await PostActionAsync(admin, first, new { type = "resolve", rootCause = "process.long-wait", outcome = "Called back and apologised" });
        // A new low score after the resolution is a new alert, as it should be.
        clock.Advance(TimeSpan.FromHours(1));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("low-2", "CUST-B", "csat", 1, "Still not sorted", at: Start.AddHours(1), site: site));
        var second = Assert.Single(await ActiveAlertsAsync(admin, "CUST-B"));
        Assert.NotEqual(first, second);

        // Reopening the old one would give the customer two open alerts about one thing: refused, naming the active one.
        var refused = await admin.PostJsonAsync($"/api/v1/alerts/{first}/actions", new { type = "reopen", note = "customer called back" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.ReadJsonAsync();
        Assert.Equal(second, problem.GetProperty("activeAlertId").GetInt64());
        Assert.Contains($"#{second}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal([second], await ActiveAlertsAsync(admin, "CUST-B"));
        Assert.Equal("resolved", (await AlertAsync(admin, first)).GetProperty("status").GetString());

        // The database holds the rule too (ux_alerts_active), for the races the test above can't see on PostgreSQL:
        // a write that would make the old alert active beside the new one fails.
        using (var scope = app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<Closeloop.Data.CloseloopDb>();
            await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
                Microsoft.EntityFrameworkCore.RelationalDatabaseFacadeExtensions.ExecuteSqlAsync(db.Database, $"UPDATE alerts SET status = 'acknowledged' WHERE id = {first}"));
        }
        Assert.Equal("resolved", (await AlertAsync(admin, first)).GetProperty("status").GetString());

        // Closed, the same.
        await PostActionAsync(admin, first, new { type = "close" });
        await PostActionAsync(admin, first, new { type = "reopen" }, HttpStatusCode.Conflict);

        // Once the newer alert is resolved, the old one may be reopened.
        await PostActionAsync(admin, second, new { type = "resolve", rootCause = "process.long-wait", outcome = "Refunded the fee" });
        var reopened = await PostActionAsync(admin, first, new { type = "reopen", note = "customer called back" });
        Assert.Equal("open", reopened.GetProperty("status").GetString());
        Assert.Equal([first], await ActiveAlertsAsync(admin, "CUST-B"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnEscalationLevelWithNobodyInItKeepsTheOwnerAndSaysSoAndASiteManagerAccountStandsInForAnUnnamedManager(string provider)
    {
        using var smtp = new SmtpServer();
        // No Alerts:HeadOfService, and no site has a manager named on it.
        var (app, clock) = NewApp(provider, smtp);
        await using var _ = app;
        using var admin = app.Admin();
        foreach (var site in new[] { "east", "west" })
        {
            await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("setup"), site: site, team: $"{site}-team"));
        }
        await admin.CreateUserAsync("rita@east.example.com", "recovery", "east");
        await admin.CreateUserAsync("walt@west.example.com", "recovery", "west");
        // West has two site_manager accounts and names neither as its manager: the older one stands in.
        await admin.CreateUserAsync("old.manager@west.example.com", "site_manager", "west");
        clock.Advance(TimeSpan.FromMinutes(1));
        await admin.CreateUserAsync("new.manager@west.example.com", "site_manager", "west");
        await admin.SetPoolAsync("recovery", "rita@east.example.com", "walt@west.example.com");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low CSAT","when":{"field":"score","op":"lte","value":2},"owner":"pool:recovery","deadline":"PT5S",
             "escalation":[{"after":"PT5S","to":"siteManager"},{"after":"PT5S","to":"headOfService"}]}
            """)).StatusCode);

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("esc-east", "cust-east", "csat", 1, site: "east"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("esc-west", "cust-west", "csat", 1, site: "west"));
        var east = Assert.Single(await ActiveAlertsAsync(admin, "cust-east"));
        var west = Assert.Single(await ActiveAlertsAsync(admin, "cust-west"));
        // Each goes to the pool's member who works at the alert's site.
        Assert.Equal("rita@east.example.com", (await AlertAsync(admin, east)).GetProperty("owner").GetString());
        Assert.Equal("walt@west.example.com", (await AlertAsync(admin, west)).GetProperty("owner").GetString());
        using var rita = await app.SignInAsync("rita@east.example.com");
        Assert.Equal(HttpStatusCode.OK, (await rita.GetAsync($"/api/v1/alerts/{east}")).StatusCode);

        var worker = app.Services.GetRequiredService<AlertDeadlineWorker>();
        foreach (var (level, vacantAtEast) in new[] { (1, "siteManager"), (2, "headOfService") })
        {
            clock.Advance(TimeSpan.FromSeconds(6));
            await worker.SweepAsync(CancellationToken.None);

            // East has nobody at this level: the alert escalates (a new deadline) but stays with Rita, and the log says why.
            var eastAlert = await AlertAsync(admin, east);
            Assert.Equal(level, eastAlert.GetProperty("escalationLevel").GetInt32());
            Assert.Equal("rita@east.example.com", eastAlert.GetProperty("owner").GetString());
            var logged = eastAlert.GetProperty("actions").EnumerateArray().Last(a => a.GetProperty("type").GetString() == "escalated").GetProperty("data");
            Assert.Equal(vacantAtEast, logged.GetProperty("vacant").GetString());
            Assert.Equal("rita@east.example.com", logged.GetProperty("to").GetString());
            Assert.Contains("nobody", logged.GetProperty("note").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await rita.GetAsync($"/api/v1/alerts/{east}")).StatusCode);

            // West's site manager account takes its alert at level 1, and keeps it when the head of service is missing too.
            var westAlert = await AlertAsync(admin, west);
            Assert.Equal(level, westAlert.GetProperty("escalationLevel").GetInt32());
            Assert.Equal("old.manager@west.example.com", westAlert.GetProperty("owner").GetString());
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnAlertIsReassignedOnlyToSomeoneWhoCanWorkItAndARuleIsSavedOnlyWithOwnersThatExist(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await SetUpPeopleAsync(admin, "north");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("setup"), site: "south"));
        await admin.CreateUserAsync("sam@south.example.com", "supervisor", "south");
        await admin.CreateUserAsync("eve@example.com", "executive");
        var created = await admin.PostRawAsync("/api/v1/alert-rules", ExampleRule);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ruleId = (await created.ReadJsonAsync()).GetProperty("id").GetInt64();
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("reassign-1", "cust-reassign", "csat", 1, site: "north"));
        var id = Assert.Single(await ActiveAlertsAsync(admin, "cust-reassign"));
        var owner = (await AlertAsync(admin, id)).GetProperty("owner").GetString();

        // Nobody, a pool that does not exist, a supervisor of another site (who could not open it), a read-only executive.
        foreach (var nobody in new[] { "nobody@example.com", "pool:nonexistent", "sam@south.example.com", "eve@example.com" })
        {
            var errors = await ErrorsAsync(await admin.PostJsonAsync($"/api/v1/alerts/{id}/actions", new { type = "reassign", owner = nobody }));
            Assert.Contains("owner", errors.Keys);
        }
        // Someone of another site is answered as nobody is: the message does not tell who works at another vendor.
        static async Task<string> MessageAsync(HttpResponseMessage r) => (await ErrorsAsync(r))["owner"].Single().Replace("sam@south.example.com", "X").Replace("nobody@example.com", "X");
        Assert.Equal(await MessageAsync(await admin.PostJsonAsync($"/api/v1/alerts/{id}/actions", new { type = "reassign", owner = "nobody@example.com" })),
            await MessageAsync(await admin.PostJsonAsync($"/api/v1/alerts/{id}/actions", new { type = "reassign", owner = "sam@south.example.com" })));
        Assert.Equal(owner, (await AlertAsync(admin, id)).GetProperty("owner").GetString());
        Assert.Equal("raj@north.example.com", (await PostActionAsync(admin, id, new { type = "reassign", owner = "raj@north.example.com" })).GetProperty("owner").GetString());
        // A pool gives it to its least-loaded member: Rita has none now.
        Assert.Equal("rita@north.example.com", (await PostActionAsync(admin, id, new { type = "reassign", owner = "pool:recovery" })).GetProperty("owner").GetString());

        // A rule's owner, and each escalation level's, must be a user or a pool that exists.
        foreach (var ghost in new[] { "\"ghost@example.com\"", "\"user:ghost@example.com\"", "\"pool:ghosts\"", """{"kind":"pool","name":"ghosts"}""" })
        {
            var rule = $$"""{"name":"Ghost","when":{"field":"score","op":"lte","value":2},"owner":{{ghost}},"deadline":"PT2H"}""";
            Assert.Contains("owner", (await ErrorsAsync(await admin.PostRawAsync("/api/v1/alert-rules", rule))).Keys);
            Assert.Contains("owner", (await ErrorsAsync(await admin.PutAsync($"/api/v1/alert-rules/{ruleId}", new StringContent(rule, System.Text.Encoding.UTF8, "application/json")))).Keys);
        }
        var escalation = await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Ghost","when":{"field":"score","op":"lte","value":2},"owner":"pool:recovery","deadline":"PT2H","escalation":[{"after":"PT1H","to":"ghost@example.com"}]}
            """);
        Assert.Contains("escalation[0].to", (await ErrorsAsync(escalation)).Keys);
        Assert.Equal("Very unhappy customer", (await (await admin.GetAsync($"/api/v1/alert-rules/{ruleId}")).ReadJsonAsync()).GetProperty("name").GetString());
        // A rule that is switched off raises nothing, so it may be kept while its pool is gone.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Parked","enabled":false,"when":{"field":"score","op":"lte","value":2},"owner":"pool:ghosts","deadline":"PT2H"}
            """)).StatusCode);
    }
}
