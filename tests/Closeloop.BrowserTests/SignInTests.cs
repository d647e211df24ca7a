using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

[Collection(ConsoleCollection.Name)]
public sealed class SignInTests(ConsoleApp app)
{
    [Fact]
    public async Task TheFirstAdminFromTheCliSignsInAndOut()
    {
        var page = await app.NewPageAsync();

        await page.GotoAsync("/alerts");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "login");

        await ConsoleApp.SignInAsync(page, ConsoleApp.AdminEmail, ConsoleApp.Password);
        await page.WaitForURLAsync("**/alerts");
        Assert.Equal("First Admin", await page.TextContentAsync("[data-testid=who]"));

        await page.ClickAsync("[data-testid=sign-out]");
        await page.WaitForURLAsync("**/login");
        await page.GotoAsync("/alerts");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AWrongPasswordIsRefusedAndFiveLockTheAccountEvenForTheRightOne()
    {
        var email = $"{Unique.Id("agent")}@closeloop.test";
        await app.CreateUserAsync(email, "executive");
        var page = await app.NewPageAsync();

        await ConsoleApp.SignInAsync(page, email, "not the password");
        Assert.Contains("wrong", await page.TextContentAsync("[data-testid=login-error]"), StringComparison.Ordinal);
        for (var i = 0; i < 4; i++)
        {
            await ConsoleApp.SignInAsync(page, email, $"still wrong {i}");
        }
        Assert.Contains("locked", await page.TextContentAsync("[data-testid=login-error]"), StringComparison.Ordinal);

        await ConsoleApp.SignInAsync(page, email, ConsoleApp.Password);
        Assert.Contains("locked", await page.TextContentAsync("[data-testid=login-error]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "login-locked");
        await page.GotoAsync("/alerts");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnApiWriteMadeWithTheCookieNeedsThePagesAntiforgeryToken()
    {
        var email = $"{Unique.Id("sup")}@closeloop.test";
        await app.CreateUserAsync(email, "admin");
        var page = await app.SignedInPageAsync(email);
        await page.GotoAsync("/alerts");
        var token = await page.GetAttributeAsync("meta[name=csrf-token]", "content");
        var body = new { message = "Queue is long, keep calls short", priority = "normal", expiresIn = "PT1H" };

        // What a forged cross-site form would be: the cookie goes along, the page's token does not.
        var forged = await page.APIRequest.PostAsync("/api/v1/broadcasts", new APIRequestContextOptions { DataObject = body });
        Assert.Equal(400, forged.Status);
        Assert.Contains("X-CSRF-TOKEN", await forged.TextAsync(), StringComparison.Ordinal);
        // Reads need no token; a write from the page itself carries it.
        Assert.Equal(200, (await page.APIRequest.GetAsync("/api/v1/broadcasts")).Status);
        var posted = await page.APIRequest.PostAsync("/api/v1/broadcasts", new APIRequestContextOptions
        {
            DataObject = body,
            Headers = new Dictionary<string, string> { ["X-CSRF-TOKEN"] = token ?? "" },
        });
        Assert.Equal(201, posted.Status);
        await page.Context.CloseAsync();
    }
}
