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
}
