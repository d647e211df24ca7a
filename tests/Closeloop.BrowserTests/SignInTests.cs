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
        await app.CreateUserAsync(email, "agent");
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
}
