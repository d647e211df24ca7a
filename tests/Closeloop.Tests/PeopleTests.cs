using System.Net;
using System.Net.Http.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>People and the owners of alerts, through /api/v1/users and /api/v1/teams/{code}/supervisor.</summary>
public sealed class PeopleTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task ASiteManagerWithoutASiteIsRefusedAndWithOneIsCreated(string provider)
    {
        using var admin = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: site))).EnsureSuccessStatusCode();
        var email = $"{Unique.Id("mia")}@example.com";

        // A scope without a site is every site: a site manager must never get it by leaving the site out.
        // The same for every role PRODUCT.md confines to its site.
        foreach (var role in new[] { "site_manager", "supervisor", "qa", "agent" })
        {
            var refused = await admin.PostJsonAsync("/api/v1/users", new { email, role, password = "correct horse battery" });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var errors = (await refused.ReadJsonAsync()).GetProperty("errors");
            Assert.Equal(["site"], errors.EnumerateObject().Select(e => e.Name).ToList());
        }

        var created = await admin.PostJsonAsync("/api/v1/users", new { email, role = "site_manager", site, password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(site, (await created.ReadJsonAsync()).GetProperty("site").GetString());

        // The other way round: an admin manages people, keys and webhooks of every site, which a site scope could not
        // confine (such a key could mint an unscoped one), so an admin is refused a site, as a person or as a key.
        var scopedAdmin = await admin.PostJsonAsync("/api/v1/users", new { email = $"{Unique.Id("root")}@example.com", role = "admin", site, password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.BadRequest, scopedAdmin.StatusCode);
        Assert.Equal(["site"], (await scopedAdmin.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList());
        var scopedKey = await admin.PostJsonAsync("/api/v1/api-keys", new { name = "vendor admin", role = "admin", site });
        Assert.Equal(HttpStatusCode.BadRequest, scopedKey.StatusCode);
        Assert.Equal(["site"], (await scopedKey.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ASupervisorBodyWithoutTheSupervisorFieldIsRefusedAndOnlyAnExplicitNullClearsIt(string provider)
    {
        await using var app = new TestApp(provider);
        using var admin = app.Admin();
        (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact("sup-c", "sup-cust", site: "north", team: "north-care"))).EnsureSuccessStatusCode();
        (await admin.PostJsonAsync("/api/v1/users", new { email = "sam@example.com", role = "supervisor", team = "north-care", password = "correct horse battery" })).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/api/v1/teams/north-care/supervisor", new { supervisor = "sam@example.com" })).StatusCode);

        foreach (var body in new object[] { new { email = "sam@example.com" }, new { } })
        {
            var refused = await admin.PutAsJsonAsync("/api/v1/teams/north-care/supervisor", body);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await refused.ReadJsonAsync()).GetProperty("errors").TryGetProperty("supervisor", out _));
        }

        // The refused bodies left the supervisor in place: the team's alerts still go to them.
        (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low score","when":{"field":"score","op":"lte","value":2},"owner":{"kind":"teamSupervisor"},"deadline":"PT4H"}
            """)).EnsureSuccessStatusCode();
        (await admin.PostJsonAsync("/api/v1/responses", Json.Response("sup-r1", "sup-cust-1", "csat", 1, site: "north", team: "north-care"))).EnsureSuccessStatusCode();
        Assert.Equal("sam@example.com", await OwnerAsync(admin, "sup-cust-1"));

        var cleared = await admin.PutAsJsonAsync("/api/v1/teams/north-care/supervisor", new { supervisor = (string?)null });
        Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        (await admin.PostJsonAsync("/api/v1/responses", Json.Response("sup-r2", "sup-cust-2", "csat", 1, site: "north", team: "north-care"))).EnsureSuccessStatusCode();
        Assert.NotEqual("sam@example.com", await OwnerAsync(admin, "sup-cust-2"));
    }

    private static async Task<string?> OwnerAsync(HttpClient admin, string customer)
    {
        var alerts = (await (await admin.GetAsync($"/api/v1/alerts?customer={customer}")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(1, alerts.GetArrayLength());
        return alerts[0].GetProperty("owner").GetString();
    }
}
