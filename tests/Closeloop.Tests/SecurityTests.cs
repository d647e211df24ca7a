using System.Net;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

public sealed class SecurityTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory]
    [InlineData("GET", "/api/v1/metrics")]
    [InlineData("GET", "/api/v1/customers/x")]
    [InlineData("GET", "/api/v1/sites")]
    [InlineData("POST", "/api/v1/responses")]
    [InlineData("POST", "/api/v1/contacts/batch")]
    [InlineData("GET", "/api/v1/api-keys")]
    public async Task EveryApiEndpointNeedsAKey(string method, string url)
    {
        var app = TestApp.Shared(TestDatabases.Sqlite);
        using var anonymous = app.Client(null);
        using var wrong = app.Client("cl_not-a-real-key");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), url))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.SendAsync(new HttpRequestMessage(new HttpMethod(method), url))).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task OnlyAnAdminCreatesKeysAndANewKeyWorksUntilRevoked(string provider)
    {
        var app = TestApp.Shared(provider);
        var integration = await app.CreateKeyAsync("integration");
        using var machine = app.Client(integration);

        Assert.Equal(HttpStatusCode.Forbidden, (await machine.PostJsonAsync("/api/v1/api-keys", new { name = "x", role = "admin" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await machine.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust")))).StatusCode);

        using var admin = app.Admin();
        var keys = await (await admin.GetAsync("/api/v1/api-keys")).ReadJsonAsync();
        Assert.DoesNotContain(integration, keys.GetRawText(), StringComparison.Ordinal);
        var id = keys.EnumerateArray().Single(k => integration.StartsWith(k.GetProperty("prefix").GetString()!, StringComparison.Ordinal)).GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/api-keys/{id}")).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await machine.GetAsync("/api/v1/sites")).StatusCode);
    }

    [Fact]
    public async Task AKeyWithAnUnknownRoleOrABlankSiteIsRefused()
    {
        using var admin = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var response = await admin.PostJsonAsync("/api/v1/api-keys", new { name = "x", role = "overlord", site = "  " });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("role", out _));
        Assert.True(errors.TryGetProperty("site", out _));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AKeyOrPersonScopedToASiteNotSeenYetCreatesItAsARecordWould(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var site = Unique.Id("Vendor").ToUpperInvariant();
        // The vendor's key first, its records after: the site exists from the key on, under the code records use.
        using var vendor = app.Client(await app.CreateKeyAsync("integration", $" {site} "));
        Assert.Equal(HttpStatusCode.Created, (await vendor.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: site))).StatusCode);
        var sites = await (await admin.GetAsync("/api/v1/sites")).Content.ReadAsStringAsync();
        Assert.Single(System.Text.Json.JsonDocument.Parse(sites).RootElement.EnumerateArray(), s => s.GetProperty("code").GetString() == site.ToLowerInvariant());
        var person = await admin.PostJsonAsync("/api/v1/users", new { email = $"{Unique.Id("m")}@example.com", role = "site_manager", site = Unique.Id("fresh"), password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, person.StatusCode);
        // Refused input creates nothing.
        var refused = await admin.PostJsonAsync("/api/v1/api-keys", new { name = "", role = "agent", site = "never-made-" + site });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.DoesNotContain("never-made-", await (await admin.GetAsync("/api/v1/sites")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ANewValueOfTheBootstrapVariableRevokesTheKeyTheOldOneMade(string provider)
    {
        await using var first = new TestApp(provider);
        using (var admin = first.Admin())
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/sites")).StatusCode);
        }
        // The operator rotates a leaked key by starting with another value: the old one no longer gets in.
        const string Rotated = "rotated-admin-key-0123456789abcdef";
        await using var second = new TestApp(provider, new() { ["ConnectionStrings:Closeloop"] = first.ConnectionString, ["CLOSELOOP_ADMIN_API_KEY"] = Rotated });
        using var old = second.Client(TestApp.AdminKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await old.GetAsync("/api/v1/sites")).StatusCode);
        using var fresh = second.Client(Rotated);
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/api/v1/sites")).StatusCode);
    }

    [Fact]
    public async Task ASiteManagerKeyWithoutASiteIsRefused()
    {
        using var admin = TestApp.Shared(TestDatabases.Sqlite).Admin();

        // Without a site a key sees every site, which is exactly what a site manager must not.
        foreach (var role in new[] { "site_manager", "supervisor", "qa", "agent" })
        {
            var response = await admin.PostJsonAsync("/api/v1/api-keys", new { name = "vendor", role });

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var errors = (await response.ReadJsonAsync()).GetProperty("errors");
            Assert.Equal(["site"], errors.EnumerateObject().Select(e => e.Name).ToList());
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARecordCannotJoinATeamOrAgentOfAnotherSite(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var home = Unique.Id("inhouse");
        var vendor = Unique.Id("vendor");
        var team = $"{home}-billing";
        var agent = $"{home}-ann";
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("c"), "csat", 5, site: home, team: team, agent: agent))).StatusCode);
        async Task<long> AgentAnswersAsync() => (await (await admin.GetAsync($"/api/v1/metrics?groupBy=agent")).ReadJsonAsync()).GetProperty("groups").EnumerateArray()
            .Where(g => g.GetProperty("key").GetString() == agent).Sum(g => g.GetProperty("csat").GetProperty("n").GetInt64());
        Assert.Equal(1, await AgentAnswersAsync());
        using var vendorKey = app.Client(await app.CreateKeyAsync("integration", vendor));

        // A vendor's records would otherwise count in the in-house agent's scorecard: refused, the field named.
        var refused = await vendorKey.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("c"), "csat", 1, agent: agent));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True((await refused.ReadJsonAsync()).GetProperty("errors").TryGetProperty("agent", out _));
        var contact = await vendorKey.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("c"), team: team));
        Assert.Equal(HttpStatusCode.BadRequest, contact.StatusCode);
        Assert.True((await contact.ReadJsonAsync()).GetProperty("errors").TryGetProperty("team", out _));
        // In a batch, that item alone; the vendor's own codes are its own.
        var batch = await (await vendorKey.PostJsonAsync("/api/v1/responses/batch", new[]
        {
            Json.Response(Unique.Id("r"), Unique.Id("c"), "csat", 1, team: team),
            Json.Response(Unique.Id("r"), Unique.Id("c"), "csat", 4, team: $"{vendor}-billing", agent: $"{vendor}-ann"),
        })).ReadJsonAsync();
        var results = batch.GetProperty("results");
        Assert.Equal("invalid", results[0].GetProperty("status").GetString());
        Assert.Equal("created", results[1].GetProperty("status").GetString());
        Assert.Equal(1, await AgentAnswersAsync());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ASiteScopedKeySeesAndWritesOnlyItsOwnSite(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var siteA = Unique.Id("vendor-a");
        var siteB = Unique.Id("vendor-b");
        var shared = Unique.Id("cust");
        var onlyB = Unique.Id("cust");
        var contactA = Unique.Id("c");
        var contactB = Unique.Id("c");
        var responseB = Unique.Id("r");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(contactA, shared, site: siteA, reason: "billing"));
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(contactB, shared, site: siteB, reason: "billing", at: DateTimeOffset.Parse("2026-11-03T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response(responseB, onlyB, "csat", 1, "Terrible", site: siteB));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), shared, "csat", 5, site: siteA));
        using var vendorA = app.Client(await app.CreateKeyAsync("site_manager", siteA));

        // Records of another site answer 404, never 403.
        var ownContact = await vendorA.GetAsync($"/api/v1/contacts/{contactA}");
        Assert.Equal(HttpStatusCode.OK, ownContact.StatusCode);
        // The issue chains both sites' contacts about billing, but A sees only its own part of it.
        var issue = (await ownContact.ReadJsonAsync()).GetProperty("issue");
        Assert.Equal(1, issue.GetProperty("contactCount").GetInt32());
        Assert.Equal(2, (await (await admin.GetAsync($"/api/v1/contacts/{contactA}")).ReadJsonAsync()).GetProperty("issue").GetProperty("contactCount").GetInt32());
        // So does the answer to creating a contact that joins the issue: not B's visit, nor when it was.
        var joined = await vendorA.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), shared, site: siteA, reason: "billing",
            at: DateTimeOffset.Parse("2026-11-04T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(HttpStatusCode.Created, joined.StatusCode);
        var joinedIssue = (await joined.ReadJsonAsync()).GetProperty("issue");
        Assert.Equal(2, joinedIssue.GetProperty("contactCount").GetInt32());
        Assert.Equal(issue.GetProperty("firstAt").GetDateTimeOffset(), joinedIssue.GetProperty("firstAt").GetDateTimeOffset());
        Assert.Equal(3, (await (await admin.GetAsync($"/api/v1/contacts/{contactA}")).ReadJsonAsync()).GetProperty("issue").GetProperty("contactCount").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/contacts/{contactB}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/responses/{responseB}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/customers/{onlyB}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/customers/{onlyB}/timeline")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/sites/{siteB}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/metrics?site={siteB}")).StatusCode);

        // A customer both sites served shows only this site's part of the story.
        var timeline = await (await vendorA.GetAsync($"/api/v1/customers/{shared}/timeline")).ReadJsonAsync();
        Assert.Equal(3, timeline.GetProperty("items").GetArrayLength());
        Assert.DoesNotContain(siteB, timeline.GetRawText(), StringComparison.Ordinal);
        // Nor another site's alert rules, which name its sites and people: only those that raised alerts at A.
        var ruleOfB = await (await admin.PostRawAsync("/api/v1/alert-rules",
            $$"""{"name":"{{siteB}} churn","when":{"field":"site","op":"eq","value":"{{siteB}}"},"owner":"headOfService","deadline":"PT2H","enabled":false}""")).ReadJsonAsync();
        Assert.DoesNotContain(siteB, (await (await vendorA.GetAsync("/api/v1/alert-rules")).ReadJsonAsync()).GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/alert-rules/{ruleOfB.GetProperty("id").GetInt64()}")).StatusCode);
        var sites = await (await vendorA.GetAsync("/api/v1/sites")).ReadJsonAsync();
        Assert.Equal([siteA], sites.EnumerateArray().Select(s => s.GetProperty("code").GetString()));
        var metrics = await (await vendorA.GetAsync("/api/v1/metrics?groupBy=site")).ReadJsonAsync();
        Assert.Equal([siteA], metrics.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("key").GetString()));

        // Writes land in the key's own site, and another site is refused.
        var own = await vendorA.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust")));
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        Assert.Equal(siteA, (await own.ReadJsonAsync()).GetProperty("site").GetString());
        // Writing a record of another site answers 404 too, and so does reusing the id of one of its records.
        var other = await vendorA.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: siteB));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), shared, "csat", 2, site: siteB))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.PostJsonAsync("/api/v1/contacts", Json.Contact(contactB, Unique.Id("cust")))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.PostJsonAsync("/api/v1/responses", Json.Response(responseB, onlyB, "csat", 1, "Terrible"))).StatusCode);
        var batch = await (await vendorA.PostJsonAsync("/api/v1/contacts/batch", new[] { Json.Contact(contactB, Unique.Id("cust")), Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: siteB) })).ReadJsonAsync();
        Assert.All(batch.GetProperty("results").EnumerateArray(), r => Assert.Equal("not_found", r.GetProperty("status").GetString()));
        Assert.Equal(2, batch.GetProperty("failed").GetInt32());
        // A response about another site's contact names the field, as one about a contact that does not exist does.
        var aboutOther = await vendorA.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), shared, "csat", 2, contact: contactB));
        Assert.Equal(HttpStatusCode.BadRequest, aboutOther.StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ASiteScopedKeyAddsToACustomersProfileButNeverReplacesIt(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var north = Unique.Id("north");
        var south = Unique.Id("south");
        var customer = Unique.Id("cust");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: north));
        await admin.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"), customer = new { externalId = customer, name = "Dana Reyes", email = "dana@example.com" },
            channel = "chat", occurredAt = "2026-11-21T09:00:00Z", site = south,
        });
        using var northKey = app.Client(await app.CreateKeyAsync("integration", north));

        var written = await northKey.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"), customer = new { externalId = customer, name = "Renamed by north", email = "typo@example.com", phone = "+44 20 7946 0000" },
            channel = "chat", occurredAt = "2026-11-22T09:00:00Z",
        });
        Assert.Equal(HttpStatusCode.Created, written.StatusCode);

        var profile = await (await admin.GetAsync($"/api/v1/customers/{customer}")).ReadJsonAsync();
        Assert.Equal("Dana Reyes", profile.GetProperty("name").GetString());
        var points = profile.GetProperty("contactPoints").EnumerateArray().Select(p => p.GetProperty("value").GetString()).ToList();
        Assert.Contains("dana@example.com", points);
        Assert.DoesNotContain("typo@example.com", points);
        Assert.Contains("+44 20 7946 0000", points);

        // The company's own, unscoped feed still updates the profile.
        await admin.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"), customer = new { externalId = customer, email = "dana.reyes@example.com" }, channel = "email", occurredAt = "2026-11-23T09:00:00Z", site = south,
        });
        var updated = await (await admin.GetAsync($"/api/v1/customers/{customer}")).ReadJsonAsync();
        Assert.Contains("dana.reyes@example.com", updated.GetProperty("contactPoints").EnumerateArray().Select(p => p.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task HealthAndTheOpenApiDocumentNeedNoKey()
    {
        using var anonymous = TestApp.Shared(TestDatabases.Sqlite).Client(null);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentStatesTheIngestContractAndTheKey()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Client(null);
        var document = await (await client.GetAsync("/openapi/v1.json")).ReadJsonAsync();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        string[] Required(string schema) => schemas.GetProperty(schema).GetProperty("required").EnumerateArray().Select(r => r.GetString()!).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(["channel", "customer", "externalId", "occurredAt"], Required("ContactInput"));
        Assert.Equal(["customer", "externalId", "metric", "score"], Required("ResponseInput"));
        Assert.Equal(["externalId"], Required("CustomerInput"));
        Assert.Equal("integer", schemas.GetProperty("ResponseInput").GetProperty("properties").GetProperty("score").GetProperty("type").GetString());

        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
        var post = document.GetProperty("paths").GetProperty("/api/v1/responses").GetProperty("post");
        Assert.True(post.GetProperty("security")[0].TryGetProperty("bearer", out _));
        Assert.True(post.GetProperty("responses").TryGetProperty("401", out _));
    }

    [Fact]
    public async Task EveryOperationInTheOpenApiDocumentHasANameAndASummary()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Client(null);
        var document = await (await client.GetAsync("/openapi/v1.json")).ReadJsonAsync();

        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (Path: path.Name, Method: op.Name, Op: op.Value)))
            .ToList();

        Assert.True(operations.Count >= 15, $"only {operations.Count} operations");
        Assert.All(operations, o =>
        {
            Assert.True(o.Op.TryGetProperty("operationId", out var id) && id.GetString()!.Length > 0, $"{o.Method} {o.Path} has no operationId");
            Assert.True(o.Op.TryGetProperty("summary", out var summary) && summary.GetString()!.Length > 0, $"{o.Method} {o.Path} has no summary");
        });
        Assert.Contains(operations, o => o.Path == "/api/v1/responses" && o.Method == "post");
        Assert.Contains(operations, o => o.Path == "/api/v1/customers/{externalId}/timeline");
    }
}
