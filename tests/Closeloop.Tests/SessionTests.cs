using System.Net;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>Sessions end when a person signs out or gets a new password; wrong passwords and bad keys are throttled per address.</summary>
public sealed class SessionTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static async Task<string> TokenAsync(HttpClient client, string page)
    {
        var html = await (await client.GetAsync(page)).Content.ReadAsStringAsync();
        var match = Infrastructure.People.AntiforgeryToken().Match(html);
        Assert.True(match.Success, $"no anti-forgery token on {page}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    private static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string url, string tokenPage, Dictionary<string, string> fields)
    {
        fields["__RequestVerificationToken"] = await TokenAsync(client, tokenPage);
        return await client.PostAsync(url, new FormUrlEncodedContent(fields));
    }

    private static async Task<string> SignInPageAsync(TestApp app, string email, string password)
    {
        using var client = app.Client(null);
        var answer = await PostFormAsync(client, "/login", "/login", new() { ["email"] = email, ["password"] = password });
        return $"{(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}";
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task SigningOutOrANewPasswordEndsEverySessionOfThePerson(string provider)
    {
        await using var app = new TestApp(provider);
        using var admin = app.Admin();
        await admin.CreateUserAsync("ann@example.com", "executive");
        await admin.CreateUserAsync("root@example.com", "admin");

        using var laptop = await app.SignInAsync("ann@example.com");
        using var phone = await app.SignInAsync("ann@example.com");
        // A page with nothing to post to answers 405, not a 500 from a page model that was never loaded.
        foreach (var page in new[] { "/dashboards", "/alerts", "/insights" })
        {
            var posted = await PostFormAsync(laptop, page, "/alerts", []);
            Assert.True(posted.StatusCode == HttpStatusCode.MethodNotAllowed, $"{page}: {posted.StatusCode} {posted.Headers} {await posted.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(HttpStatusCode.OK, (await phone.GetAsync("/alerts")).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await PostFormAsync(laptop, "/logout", "/alerts", [])).StatusCode);
        // The other session (a second device, or a copy of the cookie) ended too.
        var after = await phone.GetAsync("/alerts");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.Contains("/login", after.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetAsync("/api/v1/alerts")).StatusCode);

        // An admin gives Ann a new password: the session she had is over, the new password signs in.
        using var again = await app.SignInAsync("ann@example.com");
        using var root = await app.SignInAsync("root@example.com");
        var ann = (await (await admin.GetAsync("/api/v1/users")).ReadJsonAsync()).EnumerateArray().Single(u => u.GetProperty("email").GetString() == "ann@example.com");
        var reset = await PostFormAsync(root, $"/admin/users?id={ann.GetProperty("id").GetInt64()}&handler=Update", "/admin/users",
            new() { ["name"] = "Ann", ["role"] = "executive", ["password"] = "a brand new long password" });
        Assert.True(reset.StatusCode == HttpStatusCode.Redirect, $"{reset.StatusCode} {await reset.Content.ReadAsStringAsync()}");
        Assert.Equal(HttpStatusCode.Redirect, (await again.GetAsync("/alerts")).StatusCode);
        using var fresh = await app.SignInAsync("ann@example.com", "a brand new long password");
        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/alerts")).StatusCode);

        // Disabled, then enabled again: the cookie she had before stays dead (it may be the one that was stolen).
        foreach (var disabled in new[] { "true", "false" })
        {
            var changed = await PostFormAsync(root, $"/admin/users?id={ann.GetProperty("id").GetInt64()}&handler=Update", "/admin/users",
                new() { ["name"] = "Ann", ["role"] = "executive", ["disabled"] = disabled });
            Assert.True(changed.StatusCode == HttpStatusCode.Redirect, $"{changed.StatusCode} {await changed.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await fresh.GetAsync("/api/v1/alerts")).StatusCode);
        using var enabled = await app.SignInAsync("ann@example.com", "a brand new long password");
        Assert.Equal(HttpStatusCode.OK, (await enabled.GetAsync("/alerts")).StatusCode);

        // Moving her to a vendor site no record has named yet creates the site, as creating her there would.
        var moved = await PostFormAsync(root, $"/admin/users?id={ann.GetProperty("id").GetInt64()}&handler=Update", "/admin/users",
            new() { ["name"] = "Ann", ["role"] = "site_manager", ["site"] = " Vendor-New " });
        Assert.True(moved.StatusCode == HttpStatusCode.Redirect, $"{moved.StatusCode} {await moved.Content.ReadAsStringAsync()}");
        var annNow = (await (await admin.GetAsync("/api/v1/users")).ReadJsonAsync()).EnumerateArray().Single(u => u.GetProperty("email").GetString() == "ann@example.com");
        Assert.Equal("vendor-new", annNow.GetProperty("site").GetString());
        Assert.Contains((await (await admin.GetAsync("/api/v1/sites")).ReadJsonAsync()).EnumerateArray(), s => s.GetProperty("code").GetString() == "vendor-new");
    }

    [Fact]
    public async Task AnAddressWithoutAnAccountLocksLikeAnAccountAndTooManyFailuresFromOneAddressAre429()
    {
        await using var app = new TestApp(TestDatabases.Sqlite, new() { ["SignIn:MaxFailuresPerAddress"] = "12", ["ApiKeys:MaxFailuresPerAddress"] = "5" });
        using var admin = app.Admin();
        await admin.CreateUserAsync("real@example.com", "executive");

        // Five wrong passwords, for a real account and for an address nobody has: the same answers.
        foreach (var email in new[] { "real@example.com", "nobody@example.com" })
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.Contains("The e-mail or the password is wrong.", await SignInPageAsync(app, email, $"guess {i}"), StringComparison.Ordinal);
            }
            var fifth = await SignInPageAsync(app, email, "guess 5");
            Assert.StartsWith("401", fifth, StringComparison.Ordinal);
            Assert.Contains("locked for 15 minutes", fifth, StringComparison.Ordinal);
        }
        // Ten failures so far from this address; two more and it is throttled over every account, the right password too.
        await SignInPageAsync(app, "someone@example.com", "x");
        await SignInPageAsync(app, "someone@example.com", "y");
        var throttled = await SignInPageAsync(app, "real@example.com", Infrastructure.People.Password);
        Assert.StartsWith("429", throttled, StringComparison.Ordinal);
        Assert.Contains("Too many failed sign-ins from this address", throttled, StringComparison.Ordinal);

        // Unknown API keys: five, then 429 with Retry-After; a valid key from the same address is still served.
        using var guesser = app.Client("not-a-key-0");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/sites")).StatusCode);
        }
        var limited = await guesser.GetAsync("/api/v1/sites");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/sites")).StatusCode);
    }
}
