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

    private static async Task<JsonElement> AlertAsync(HttpClient client, long id) => await (await client.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync();

    private static async Task<Dictionary<string, string[]>> ErrorsAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"400 expected, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray());
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
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low CSAT","when":{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"lte","value":2}]},"owner":"pool:recovery","deadline":"PT2H"}
            """)).StatusCode);

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

        // Closed, the same.
        await PostActionAsync(admin, first, new { type = "close" });
        await PostActionAsync(admin, first, new { type = "reopen" }, HttpStatusCode.Conflict);

        // Once the newer alert is resolved, the old one may be reopened.
        await PostActionAsync(admin, second, new { type = "resolve", rootCause = "process.long-wait", outcome = "Refunded the fee" });
        var reopened = await PostActionAsync(admin, first, new { type = "reopen", note = "customer called back" });
        Assert.Equal("open", reopened.GetProperty("status").GetString());
        Assert.Equal([first], await ActiveAlertsAsync(admin, "CUST-B"));
    }

}
