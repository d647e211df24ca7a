using System.Globalization;
using System.Net;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

/// <summary>POST /api/v1/alert-rules/preview: a rule run over the last week's stored responses, through HTTP, on both databases.</summary>
public sealed class RulePreviewTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-20T12:00:00Z", CultureInfo.InvariantCulture);

    private static (TestApp App, TestClock Clock) NewApp(string provider)
    {
        var clock = new TestClock(Now);
        return (new TestApp(provider, services: services => services.AddSingleton<TimeProvider>(clock)), clock);
    }

    private static string Rule(string when) => $$"""
        {"name": "Preview me", "enabled": true, "when": {{when}}, "owner": {"kind": "teamSupervisor"}, "deadline": "PT2H"}
        """;

    private static async Task<JsonElement> PreviewAsync(HttpClient client, string when)
    {
        var response = await client.PostRawAsync("/api/v1/alert-rules/preview", Rule(when));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"200 expected, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    private static async Task PostAsync(HttpClient client, string url, object body)
    {
        var response = await client.PostJsonAsync(url, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"201 expected from {url}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// Seven responses in the window and one just outside it:
    /// r-old    csat 1, 8 days ago (outside)
    /// r-1      csat 1, 1 day ago, "Terrible service, I am furious and will cancel" (cust-a, through contact c-2, a repeat contact)
    /// r-2      csat 2, 6 days ago (cust-b)
    /// r-3      csat 5, 2 days ago, "Wonderful, thank you so much" (cust-b)
    /// r-4      nps 3, 3 hours ago (cust-c)
    /// r-5      nps 9, 4 days ago (cust-c)
    /// r-6      csat 4, 3 days ago (cust-a, through contact c-1, the first contact of the issue)
    /// r-7      ces 2, 5 days ago (cust-d)
    /// </summary>
    private static async Task SeedAsync(HttpClient admin)
    {
        const string site = "north";
        await PostAsync(admin, "/api/v1/contacts", Json.Contact("c-1", "cust-a", at: Now.AddDays(-3).AddHours(-1), site: site, team: "north-t", agent: "north-a", reason: "billing"));
        await PostAsync(admin, "/api/v1/contacts", Json.Contact("c-2", "cust-a", at: Now.AddDays(-1).AddHours(-1), site: site, team: "north-t", agent: "north-a", reason: "billing"));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-old", "cust-b", "csat", 1, "Awful", at: Now.AddDays(-8), site: site));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-1", "cust-a", "csat", 1, "Terrible service, I am furious and will cancel", at: Now.AddDays(-1), contact: "c-2"));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-2", "cust-b", "csat", 2, at: Now.AddDays(-6), site: site));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-3", "cust-b", "csat", 5, "Wonderful, thank you so much", at: Now.AddDays(-2), site: site));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-4", "cust-c", "nps", 3, at: Now.AddHours(-3), site: "south", channel: "email"));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-5", "cust-c", "nps", 9, at: Now.AddDays(-4), site: "south", channel: "email"));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-6", "cust-a", "csat", 4, at: Now.AddDays(-3), contact: "c-1"));
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-7", "cust-d", "ces", 2, at: Now.AddDays(-5).AddHours(-1), site: site));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task APreviewCountsTheLastWeeksResponsesTheRuleWouldHaveMatched(string provider)
    {
        var (app, _) = NewApp(provider);
        await using var _ = app;
        using var admin = app.Admin();
        await SeedAsync(admin);

        // Bad CSAT: r-1 and r-2; r-old is eight days old.
        var csat = await PreviewAsync(admin, """{"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]}""");
        Assert.Equal(2, csat.GetProperty("matched").GetInt32());
        Assert.Equal(7, csat.GetProperty("total").GetInt32());
        Assert.Equal(Now.AddDays(-7), csat.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(Now, csat.GetProperty("to").GetDateTimeOffset());
        var examples = csat.GetProperty("examples");
        Assert.Equal(["r-1", "r-2"], examples.EnumerateArray().Select(e => e.GetProperty("externalId").GetString()));
        Assert.Equal("Terrible service, I am furious and will cancel", examples[0].GetProperty("comment").GetString());
        Assert.Equal("cust-a", examples[0].GetProperty("customer").GetString());
        Assert.Equal("north", examples[0].GetProperty("site").GetString());

        // Any scale: NPS detractors (r-4) and the bottom of CSAT (r-1, r-2) and CES (r-7).
        var any = await PreviewAsync(admin, """
            {"any": [{"field": "npsCategory", "op": "eq", "value": "detractor"},
                     {"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]},
                     {"all": [{"field": "metric", "op": "eq", "value": "ces"}, {"field": "score", "op": "lte", "value": 3}]}]}
            """);
        Assert.Equal(4, any.GetProperty("matched").GetInt32());
        Assert.Equal("r-4", any.GetProperty("examples")[0].GetProperty("externalId").GetString());

        // The contact behind a response counts: only r-1 answers a repeat contact (c-2, two days after c-1, same reason).
        Assert.Equal(1, (await PreviewAsync(admin, """{"field": "repeatContact", "op": "eq", "value": true}""")).GetProperty("matched").GetInt32());
        Assert.Equal(1, (await PreviewAsync(admin, """{"field": "repeatContactWithinDays", "op": "lte", "value": 3}""")).GetProperty("matched").GetInt32());
        Assert.Equal(0, (await PreviewAsync(admin, """{"field": "repeatContactWithinDays", "op": "lt", "value": 1}""")).GetProperty("matched").GetInt32());
        Assert.Equal(2, (await PreviewAsync(admin, """{"field": "reason", "op": "eq", "value": "billing"}""")).GetProperty("matched").GetInt32());

        // Channel and site, from the contact or from the response itself: r-4 and r-5 came by e-mail from site south.
        Assert.Equal(2, (await PreviewAsync(admin, """{"field": "channel", "op": "eq", "value": "email"}""")).GetProperty("matched").GetInt32());
        Assert.Equal(5, (await PreviewAsync(admin, """{"field": "site", "op": "eq", "value": "north"}""")).GetProperty("matched").GetInt32());

        // Sentiment and words come from the analysis stored with each comment: only r-1 is angry.
        var angry = (await (await admin.GetAsync("/api/v1/responses/r-1")).ReadJsonAsync()).GetProperty("analysis").GetProperty("sentiment").GetProperty("compound").GetDouble();
        var happy = (await (await admin.GetAsync("/api/v1/responses/r-3")).ReadJsonAsync()).GetProperty("analysis").GetProperty("sentiment").GetProperty("compound").GetDouble();
        Assert.True(angry < -0.3 && happy > 0.3, $"the analyser scored r-1 {angry} and r-3 {happy}");
        Assert.Equal(1, (await PreviewAsync(admin, """{"field": "sentiment", "op": "lt", "value": -0.3}""")).GetProperty("matched").GetInt32());
        Assert.Equal(1, (await PreviewAsync(admin, """{"field": "comment", "op": "containsAny", "value": ["cancel", "refund"]}""")).GetProperty("matched").GetInt32());

        // The tier is the customer's: cust-a (r-1, r-6) becomes a VIP.
        Assert.Equal(0, (await PreviewAsync(admin, """{"field": "customerTier", "op": "eq", "value": "vip"}""")).GetProperty("matched").GetInt32());
        var patch = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/customers/cust-a") { Content = System.Net.Http.Json.JsonContent.Create(new { tier = "VIP" }) };
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(patch)).StatusCode);
        Assert.Equal(2, (await PreviewAsync(admin, """{"field": "customerTier", "op": "eq", "value": "vip"}""")).GetProperty("matched").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ThePreviewAgreesWithTheEngineAndMovesWithTheClock(string provider)
    {
        var (app, clock) = NewApp(provider);
        await using var _ = app;
        using var admin = app.Admin();
        await SeedAsync(admin);
        const string when = """{"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]}""";
        Assert.Equal(2, (await PreviewAsync(admin, when)).GetProperty("matched").GetInt32());

        // Saved, the rule raises an alert for a new bad answer, and the preview counts that answer too.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", Rule(when))).StatusCode);
        await PostAsync(admin, "/api/v1/responses", Json.Response("r-8", "cust-e", "csat", 1, "Never again", at: Now, site: "north"));
        var alerts = (await (await admin.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal("r-8", Assert.Single(alerts.EnumerateArray()).GetProperty("trigger").GetProperty("externalId").GetString());
        var after = await PreviewAsync(admin, when);
        Assert.Equal(3, after.GetProperty("matched").GetInt32());
        Assert.Equal(8, after.GetProperty("total").GetInt32());

        // Two days on, r-2 (six days old then) has left the window: r-1 and r-8 remain, of r-1, r-3, r-4, r-5, r-6, r-8.
        clock.Advance(TimeSpan.FromDays(2));
        var later = await PreviewAsync(admin, when);
        Assert.Equal(2, later.GetProperty("matched").GetInt32());
        Assert.Equal(6, later.GetProperty("total").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ABadRuleAnswers400NamingEachFieldAndOnlyAdminsMayPreview(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();

        var response = await admin.PostRawAsync("/api/v1/alert-rules/preview", """
            {"name": "Broken", "when": {"all": [{"field": "mood", "op": "eq", "value": "bad"}, {"field": "score", "op": "lte", "value": "two"}]},
             "owner": {"kind": "nobody"}}
            """);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Equal(["deadline", "owner.kind", "when.all[0].field", "when.all[1].value"], errors.Order(StringComparer.Ordinal));

        var never = await admin.PostRawAsync("/api/v1/alert-rules/preview", Rule("""{"all": [{"field": "score", "op": "gt", "value": 8}, {"field": "score", "op": "lt", "value": 3}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, never.StatusCode);
        Assert.True((await never.ReadJsonAsync()).GetProperty("errors").TryGetProperty("when", out _));

        var notJson = await admin.PostRawAsync("/api/v1/alert-rules/preview", "{\"name\": ");
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.True((await notJson.ReadJsonAsync()).GetProperty("errors").TryGetProperty("body", out _));

        using var executive = app.Client(await app.CreateKeyAsync("executive"));
        Assert.Equal(HttpStatusCode.Forbidden, (await executive.PostRawAsync("/api/v1/alert-rules/preview", Rule("""{"field": "score", "op": "lte", "value": 2}"""))).StatusCode);
        using var anonymous = app.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostRawAsync("/api/v1/alert-rules/preview", Rule("""{"field": "score", "op": "lte", "value": 2}"""))).StatusCode);
    }
}
