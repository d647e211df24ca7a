using System.Net;
using System.Text;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>
/// Who may read and change a customer: a recovery specialist sees the customers of their own alerts, a site-scoped
/// caller may add to a shared profile but not overwrite it, and text with a NUL is refused on every path.
/// </summary>
public sealed class CustomerScopeTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<Dictionary<string, string[]>> ErrorsAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{status} expected, got {response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARecoverySpecialistSeesTheCustomersOfTheirOwnAlertsOnly(string provider)
    {
        await using var app = new TestApp(provider);
        using var admin = app.Admin();
        var specialist = await admin.CreatePoolAsync("recovery");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low CSAT","when":{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"lte","value":2}]},"owner":"pool:recovery","deadline":"PT2H"}
            """)).StatusCode);
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact("call-mine", "CUST-MINE", site: "north"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("low-mine", "CUST-MINE", "csat", 1, "Nobody called me back", contact: "call-mine"));
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact("call-other", "CUST-OTHER", site: "north"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("ok-other", "CUST-OTHER", "csat", 4, "Private words of another customer", contact: "call-other"));

        using var recovery = await app.SignInAsync(specialist);
        Assert.Equal(HttpStatusCode.OK, (await recovery.GetAsync("/api/v1/customers/CUST-MINE")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await recovery.GetAsync("/api/v1/customers/CUST-MINE/timeline")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await recovery.GetAsync("/api/v1/responses/low-mine")).StatusCode);
        foreach (var url in new[]
        {
            "/api/v1/customers/CUST-OTHER", "/api/v1/customers/CUST-OTHER/timeline", "/api/v1/customers/CUST-OTHER/notes",
            "/api/v1/customers/CUST-OTHER/preferences", "/api/v1/contacts/call-other", "/api/v1/responses/ok-other", "/customers/CUST-OTHER",
        })
        {
            Assert.True((await recovery.GetAsync(url)).StatusCode == HttpStatusCode.NotFound, url);
        }

        var list = await (await recovery.GetAsync("/api/v1/customers")).ReadJsonAsync();
        Assert.Equal(["CUST-MINE"], list.EnumerateArray().Select(c => c.GetProperty("externalId").GetString()));
        var records = await (await recovery.GetAsync("/api/v1/metrics/records?metric=csat&from=2026-11-01&to=2026-11-30")).Content.ReadAsStringAsync();
        Assert.Contains("low-mine", records, StringComparison.Ordinal);
        Assert.DoesNotContain("ok-other", records, StringComparison.Ordinal);
        Assert.DoesNotContain("Private words", records, StringComparison.Ordinal);
        // The admin still sees both.
        Assert.Contains("ok-other", await (await admin.GetAsync("/api/v1/metrics/records?metric=csat&from=2026-11-01&to=2026-11-30")).Content.ReadAsStringAsync(),
            StringComparison.Ordinal);
        // Figures count every customer, whose records behind them the specialist may not open: none for them (the
        // pages answer 404, as pages a person may not see do; the API 403, as a role's refusal does).
        foreach (var url in new[] { "/api/v1/metrics?from=2026-11-01&to=2026-11-30", "/api/v1/insights/pareto", "/api/v1/insights/trend", "/api/v1/insights/drivers" })
        {
            Assert.True((await recovery.GetAsync(url)).StatusCode == HttpStatusCode.Forbidden, url);
        }
        foreach (var page in new[] { "/dashboards", "/dashboard", "/dashboards/records?metric=csat", "/insights" })
        {
            Assert.True((await recovery.GetAsync(page)).StatusCode == HttpStatusCode.NotFound, page);
        }
        Assert.DoesNotContain("href=\"/dashboards\"", await (await recovery.GetAsync("/alerts")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ASiteScopedCallerAddsToASharedCustomerButNeitherReplacesNorLiftsWhatIsThere(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var customer = Unique.Id("shared");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("s"), customer, site: "south"));
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("n"), customer, site: "north"));
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/customers/{customer}", Body("""{"name":"Ann Example","doNotContact":true,"consent":false}"""))).StatusCode);
        using var north = app.Client(await app.CreateKeyAsync("agent", "north"));

        var refused = await ErrorsAsync(await north.PatchAsync($"/api/v1/customers/{customer}", Body("""{"name":"Renamed","doNotContact":false,"consent":true}""")),
            HttpStatusCode.Forbidden);
        Assert.Equal(["consent", "doNotContact", "name"], refused.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await north.PutAsync($"/api/v1/customers/{customer}/preferences", Body("""{"doNotContact":false}"""))).StatusCode);
        // What the profile lacks may be added, the same values may be sent again, and a site may make contact more careful.
        Assert.Equal(HttpStatusCode.OK, (await north.PatchAsync($"/api/v1/customers/{customer}", Body("""{"name":"Ann Example","tier":"gold","doNotContact":true}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await north.PatchAsync($"/api/v1/customers/{customer}", Body("""{"tier":"vip"}"""))).StatusCode);
        var profile = await (await admin.GetAsync($"/api/v1/customers/{customer}")).ReadJsonAsync();
        Assert.Equal("Ann Example", profile.GetProperty("name").GetString());
        Assert.Equal("gold", profile.GetProperty("tier").GetString());
        Assert.True(profile.GetProperty("doNotContact").GetBoolean());
        Assert.False(profile.GetProperty("consent").GetBoolean());
        // An unscoped caller can lift the restriction.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/v1/customers/{customer}/preferences", Body("""{"doNotContact":false,"consent":true}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await north.PutAsync($"/api/v1/customers/{customer}/preferences", Body("""{"consent":false}"""))).StatusCode);

        // A broadcast from one site to another is a write naming another site's record: 404, as for an unknown site.
        using var northSupervisor = app.Client(await app.CreateKeyAsync("supervisor", "north"));
        Assert.Equal(HttpStatusCode.NotFound, (await northSupervisor.PostRawAsync("/api/v1/broadcasts", """{"message":"hello","site":"south"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await northSupervisor.PostRawAsync("/api/v1/broadcasts", """{"message":"hello","site":"nowhere-at-all"}""")).StatusCode);

        // A note written centrally is read by every site and corrected only centrally (or by its writer).
        var central = await (await admin.PostRawAsync($"/api/v1/customers/{customer}/notes", """{"text":"Speaks Spanish","kind":"preference"}""")).ReadJsonAsync();
        var centralId = central.GetProperty("id").GetInt64();
        using var southManager = app.Client(await app.CreateKeyAsync("site_manager", "south"));
        Assert.Equal(HttpStatusCode.Forbidden, (await southManager.PutAsync($"/api/v1/customers/{customer}/notes/{centralId}", Body("""{"text":"rewritten"}"""))).StatusCode);
        var own = await (await north.PostRawAsync($"/api/v1/customers/{customer}/notes", """{"text":"Prefers mornings"}""")).ReadJsonAsync();
        using var northManager = app.Client(await app.CreateKeyAsync("site_manager", "north"));
        Assert.Equal(HttpStatusCode.OK, (await northManager.PutAsync($"/api/v1/customers/{customer}/notes/{own.GetProperty("id").GetInt64()}", Body("""{"text":"Prefers mornings, before 10"}"""))).StatusCode);
        var notes = await (await admin.GetAsync($"/api/v1/customers/{customer}/notes")).Content.ReadAsStringAsync();
        Assert.Contains("Speaks Spanish", notes, StringComparison.Ordinal);
        Assert.DoesNotContain("rewritten", notes, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CustomerSearchIgnoresCaseBeyondAsciiOnBothDatabases(string provider)
    {
        using var admin = TestApp.Shared(provider).Admin();
        var stem = Unique.Id("s");
        var id = $"ÇA-{stem}";
        var posted = await admin.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"), customer = new { externalId = id, name = $"Élodie Ærø {stem}" }, channel = "phone", occurredAt = "2026-11-02T10:00:00Z",
        });
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        // SQLite's own lower() folds ASCII only: "élodie" missed "Élodie" there, while PostgreSQL found her.
        foreach (var q in new[] { $"élodie ærø {stem}", $"ÉLODIE ÆRØ {stem}", $"ça-{stem}", id })
        {
            var found = await (await admin.GetAsync($"/api/v1/customers?q={Uri.EscapeDataString(q)}")).ReadJsonAsync();
            Assert.True(found.EnumerateArray().Any(c => c.GetProperty("externalId").GetString() == id), $"q={q}: {found}");
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TextWithANulCharacterIsRefusedNamingTheFieldOnEveryPath(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var customer = Unique.Id("nul");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer, site: "north"));

        Assert.Equal(["text"], (await ErrorsAsync(await admin.PostRawAsync($"/api/v1/customers/{customer}/notes", """{"text":"a\u0000b"}"""), HttpStatusCode.BadRequest)).Keys);
        Assert.Equal(["name"], (await ErrorsAsync(await admin.PatchAsync($"/api/v1/customers/{customer}", Body("""{"name":"n\u0000"}""")), HttpStatusCode.BadRequest)).Keys);
        Assert.Equal(["message"], (await ErrorsAsync(await admin.PostRawAsync("/api/v1/broadcasts", """{"message":"b\u0000","expiresIn":"PT1H"}"""), HttpStatusCode.BadRequest)).Keys);
        Assert.Equal(["name"], (await ErrorsAsync(await admin.PostRawAsync("/api/v1/users",
            $$"""{"email":"{{Unique.Id("u")}}@example.com","password":"a-long-password-1","role":"executive","name":"n\u0000"}"""), HttpStatusCode.BadRequest)).Keys);
        Assert.Equal(["q"], (await ErrorsAsync(await admin.GetAsync("/api/v1/customers?q=%00"), HttpStatusCode.BadRequest)).Keys);
        // Every bad field at once, wrong JSON types included.
        Assert.Equal(["consent", "name"], (await ErrorsAsync(await admin.PatchAsync($"/api/v1/customers/{customer}", Body("""{"name":5,"consent":"no"}""")),
            HttpStatusCode.BadRequest)).Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["preferredChannel", "tier"], (await ErrorsAsync(await admin.PatchAsync($"/api/v1/customers/{customer}",
            Body($$"""{"preferredChannel":"telepathy","tier":"{{new string('x', 65)}}"}""")), HttpStatusCode.BadRequest)).Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["message", "priority"], (await ErrorsAsync(await admin.PostRawAsync("/api/v1/broadcasts", """{"message":5,"priority":["urgent"]}"""),
            HttpStatusCode.BadRequest)).Keys.Order(StringComparer.Ordinal));
        // Nothing of it was kept.
        Assert.Equal("[]", (await (await admin.GetAsync($"/api/v1/customers/{customer}/notes")).Content.ReadAsStringAsync()).Trim());
        Assert.Equal(JsonValueKind.Null, (await (await admin.GetAsync($"/api/v1/customers/{customer}")).ReadJsonAsync()).GetProperty("name").ValueKind);
    }
}
