using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Closeloop.Tests.Infrastructure;

/// <summary>People and pools, made through the API as an admin would, and a person signed in with the console's cookie.</summary>
public static partial class People
{
    public const string Password = "correct horse battery";

    public static async Task CreateUserAsync(this HttpClient admin, string email, string role, string? site = null)
    {
        var created = await admin.PostJsonAsync("/api/v1/users", new { email, name = email.Split('@')[0], role, site, password = Password });
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"user {email}: {created.StatusCode} {await created.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// A pool with one recovery specialist of no particular site, who may work any site's alerts. An enabled rule is
    /// saved only with owners that exist, so a test makes its pool first; in a shared app, give it a name of its own.
    /// </summary>
    public static async Task<string> CreatePoolAsync(this HttpClient admin, string pool)
    {
        var email = $"{Unique.Id(pool.ToLowerInvariant())}@example.com";
        await admin.CreateUserAsync(email, "recovery");
        await admin.SetPoolAsync(pool, email);
        return email;
    }

    public static async Task SetPoolAsync(this HttpClient admin, string pool, params string[] members)
    {
        var set = await admin.PutAsync($"/api/v1/pools/{pool}", JsonContent.Create(new { members }));
        Assert.True(set.StatusCode == HttpStatusCode.OK, $"pool {pool}: {set.StatusCode} {await set.Content.ReadAsStringAsync()}");
    }

    /// <summary>A client signed in as a person through the console's sign-in form, so the API sees that person's scope.</summary>
    public static async Task<HttpClient> SignInAsync(this TestApp app, string email, string password = Password)
    {
        var client = app.Client(null);
        var form = await (await client.GetAsync("/login")).Content.ReadAsStringAsync();
        var token = AntiforgeryToken().Match(form);
        Assert.True(token.Success, "the sign-in page has no anti-forgery token");
        var signedIn = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = email, ["password"] = password, ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, $"sign-in of {email}: {signedIn.StatusCode}");
        return client;
    }

    [GeneratedRegex(@"name=""__RequestVerificationToken"" type=""hidden"" value=""([^""]+)""")]
    internal static partial Regex AntiforgeryToken();
}
