using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

[Collection(ConsoleCollection.Name)]
public sealed class InboxTests(ConsoleApp app)
{
    [Fact]
    public async Task ASupervisorSeesANewAlertAppearLiveAndWorksItThroughToResolution()
    {
        var site = Unique.Id("north");
        var team = Unique.Id("billing");
        var supervisor = $"{Unique.Id("sup")}@closeloop.test";
        await app.SetUpTeamAsync(site, team, supervisor, "Sam Supervisor");
        var page = await app.SignedInPageAsync(supervisor);
        await page.WaitForFunctionAsync("document.body.dataset.inboxLive === 'true'");

        // The response arrives through the API while the inbox is open; the row appears without a reload.
        var customer = Unique.Id("cust");
        await app.PostBadResponseAsync(Unique.Id("resp"), customer, site, team, "I was cut off twice and nobody called back.", "Dana Example");
        var row = page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customer });
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 5000 });
        Assert.Equal("open", await row.Locator("[data-testid=status]").TextContentAsync());
        Assert.Contains("calm", await row.Locator(".countdown").GetAttributeAsync("class"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "inbox");

        // One click acknowledges, and the row changes in place.
        await row.Locator("[data-testid=acknowledge]").ClickAsync();
        await page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customer }).Locator("[data-testid=status]")
            .Filter(new LocatorFilterOptions { HasText = "acknowledged" }).WaitForAsync();

        await page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customer }).Locator("a").First.ClickAsync();
        await page.WaitForURLAsync("**/alerts/*");
        Assert.Contains("cut off twice", await page.TextContentAsync("[data-testid=trigger-comment]"), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("[data-testid=step-acknowledge]").CountAsync());

        await page.Locator("form[data-step=customer_reached] button").ClickAsync();
        await page.Locator("[data-testid=alert-status]").Filter(new LocatorFilterOptions { HasText = "acknowledged" }).WaitForAsync();
        Assert.Contains("customer reached", await page.TextContentAsync("[data-testid=action-log]"), StringComparison.Ordinal);
        // Reaching the customer met the deadline: the countdown stops.
        await page.Locator(".countdown").Filter(new LocatorFilterOptions { HasText = "met" }).WaitForAsync();

        // Resolve needs a root cause and an outcome; the form asks for both.
        var resolve = page.Locator("form[data-step=resolve]");
        await resolve.Locator("select[name=rootCause]").SelectOptionAsync("process.long-wait");
        await resolve.Locator("textarea[name=outcome]").FillAsync("Called back, apologised and credited one month.");
        await ConsoleApp.ScreenshotAsync(page, "alert");
        await resolve.Locator("button").ClickAsync();
        await page.Locator("[data-testid=alert-status]").Filter(new LocatorFilterOptions { HasText = "resolved" }).WaitForAsync();
        Assert.Equal(1, await page.Locator("form[data-step=close]").CountAsync());
        Assert.Equal(0, await page.Locator("form[data-step=resolve]").CountAsync());

        // The alert leaves the active inbox.
        await page.GotoAsync("/alerts");
        Assert.Equal(0, await page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customer }).CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ASiteManagerOfVendorASeesNothingOfVendorBNotEvenByUrl()
    {
        var siteA = Unique.Id("vendor-a");
        var siteB = Unique.Id("vendor-b");
        var teamA = Unique.Id("team-a");
        var teamB = Unique.Id("team-b");
        await app.SetUpTeamAsync(siteA, teamA, $"{Unique.Id("sup-a")}@closeloop.test", "Supervisor A");
        await app.SetUpTeamAsync(siteB, teamB, $"{Unique.Id("sup-b")}@closeloop.test", "Supervisor B");
        var customerA = Unique.Id("cust-a");
        var customerB = Unique.Id("cust-b");
        await app.PostBadResponseAsync(Unique.Id("resp"), customerA, siteA, teamA, "Vendor A was slow");
        await app.PostBadResponseAsync(Unique.Id("resp"), customerB, siteB, teamB, "Vendor B lost my parcel");
        var alertB = (await app.GetAsync($"/api/v1/alerts?site={siteB}")).GetProperty("items")[0].GetProperty("id").GetInt64();
        var manager = $"{Unique.Id("mgr-a")}@closeloop.test";
        await app.CreateUserAsync(manager, "site_manager", siteA);

        var page = await app.SignedInPageAsync(manager);
        await page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customerA }).WaitForAsync();
        Assert.Equal(0, await page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customerB }).CountAsync());
        Assert.DoesNotContain(siteB, await page.ContentAsync(), StringComparison.Ordinal);

        foreach (var url in new[] { $"/alerts/{alertB}", $"/customers/{customerB}", "/admin/users" })
        {
            var response = await page.GotoAsync(url);
            Assert.Equal(404, response!.Status);
            Assert.DoesNotContain("Vendor B lost my parcel", await page.ContentAsync(), StringComparison.Ordinal);
        }
        // The live inbox's row fragment answers "not in your list" for another vendor's alert, and the APIs answer 404.
        var row = await page.APIRequest.GetAsync($"/alerts?handler=Row&id={alertB}");
        Assert.Equal(204, row.Status);
        Assert.Equal(404, (await page.APIRequest.GetAsync($"/api/v1/alerts/{alertB}")).Status);
        Assert.Equal(404, (await page.APIRequest.GetAsync($"/api/v1/customers/{customerB}/notes")).Status);
        var customers = await page.GotoAsync("/customers");
        Assert.Equal(200, customers!.Status);
        Assert.Contains(customerA, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(customerB, await page.ContentAsync(), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }
}
