using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

[Collection(ConsoleCollection.Name)]
public sealed class BroadcastAndEncodingTests(ConsoleApp app)
{
    [Fact]
    public async Task ABroadcastReachesAnAgentsOpenPageAndTheSenderSeesWhoReadIt()
    {
        var site = Unique.Id("south");
        var team = Unique.Id("returns");
        var supervisor = $"{Unique.Id("sup")}@closeloop.test";
        await app.SetUpTeamAsync(site, team, supervisor, "Sue Supervisor");
        var agent = $"{Unique.Id("agent")}@closeloop.test";
        await app.CreateUserAsync(agent, "agent", site, team, "Alex Agent");

        var agentPage = await app.SignedInPageAsync(agent);
        await agentPage.WaitForFunctionAsync("document.body.dataset.broadcastsLive === 'true'");

        var supervisorPage = await app.SignedInPageAsync(supervisor);
        await supervisorPage.GotoAsync("/broadcasts");
        var message = $"Known issue: returns labels are delayed ({Unique.Id("m")})";
        await supervisorPage.FillAsync("textarea[name=message]", message);
        await supervisorPage.SelectOptionAsync("select[name=team]", team);
        await supervisorPage.SelectOptionAsync("select[name=priority]", "urgent");
        await supervisorPage.ClickAsync("[data-testid=post-broadcast]");
        await supervisorPage.WaitForURLAsync("**/broadcasts");

        // The agent's page, open all along, shows it without a reload.
        var item = agentPage.Locator("#broadcast-bar .broadcast").Filter(new LocatorFilterOptions { HasText = message });
        await item.WaitForAsync(new LocatorWaitForOptions { Timeout = 5000 });
        await ConsoleApp.ScreenshotAsync(agentPage, "broadcast-bar");
        await item.Locator("[data-testid=broadcast-read]").ClickAsync();
        await item.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });

        // The sender's receipts count the read live.
        var receipts = supervisorPage.Locator("#broadcasts tr").Filter(new LocatorFilterOptions { HasText = message }).Locator("[data-testid=receipts]");
        await receipts.Filter(new LocatorFilterOptions { HasText = "Alex Agent" }).WaitForAsync(new LocatorWaitForOptions { Timeout = 5000 });
        Assert.Contains("1 of 1", await receipts.TextContentAsync(), StringComparison.Ordinal);

        // Read once, gone for good: a new page of the agent does not show it again.
        await agentPage.ReloadAsync();
        await agentPage.WaitForFunctionAsync("document.body.dataset.broadcastsLive === 'true'");
        Assert.Equal(0, await agentPage.Locator("#broadcast-bar .broadcast").Filter(new LocatorFilterOptions { HasText = message }).CountAsync());
        await agentPage.Context.CloseAsync();
        await supervisorPage.Context.CloseAsync();
    }

    [Fact]
    public async Task ScriptsAndImageHandlersInACommentOrANoteAreShownAsTextAndNeverRun()
    {
        var site = Unique.Id("west");
        var team = Unique.Id("sales");
        var supervisor = $"{Unique.Id("sup")}@closeloop.test";
        await app.SetUpTeamAsync(site, team, supervisor, "Xena Supervisor");
        const string Comment = "<script>window.__xss = 'script'</script><img src=x onerror=\"window.__xss = 'img'\"> Awful service";
        var customer = Unique.Id("cust");
        await app.PostBadResponseAsync(Unique.Id("resp"), customer, site, team, Comment, "<b>Mallory</b>");
        var alert = (await app.GetAsync($"/api/v1/alerts?site={site}")).GetProperty("items")[0].GetProperty("id").GetInt64();

        var page = await app.SignedInPageAsync(supervisor);
        var dialogs = 0;
        page.Dialog += (_, d) => { dialogs++; _ = d.DismissAsync(); };
        await page.Locator("#inbox-rows tr").Filter(new LocatorFilterOptions { HasText = customer }).WaitForAsync();

        var alertPage = await page.GotoAsync($"/alerts/{alert}");
        Assert.Equal(Comment, await page.TextContentAsync("[data-testid=trigger-comment]"));
        Assert.Equal(0, await page.Locator("[data-testid=trigger] img").CountAsync());
        // Defence in depth: a policy that lets only the console's own scripts run (and the page's one inline block,
        // by this response's nonce, which did run: it fills the time-zone offsets), in no frame of another site.
        var headers = await alertPage!.AllHeadersAsync();
        Assert.Contains("script-src 'self' 'nonce-", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("DENY", headers["x-frame-options"]);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        Assert.All(await page.Locator(".tz-offset").EvaluateAllAsync<string[]>("inputs => inputs.map(i => i.value)"), v => Assert.NotEmpty(v));
        Assert.Empty(app.BlockedByPolicy);

        await page.GotoAsync($"/customers/{customer}");
        Assert.Contains("<b>Mallory</b>", await page.TextContentAsync("[data-testid=customer-name]"), StringComparison.Ordinal);
        await page.FillAsync("#add-note textarea[name=text]", "<img src=y onerror=\"window.__xss = 'note'\">Prefers e-mail <script>alert(1)</script>");
        await page.ClickAsync("[data-testid=add-note]");
        await page.Locator("[data-testid=notes] li").First.WaitForAsync();
        Assert.Contains("<script>alert(1)</script>", await page.TextContentAsync("[data-testid=notes]"), StringComparison.Ordinal);
        Assert.Contains(Comment, await page.TextContentAsync("[data-testid=timeline]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "customer");

        Assert.Equal(0, await page.Locator("main img").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("typeof window.__xss === 'undefined'"));
        Assert.Equal(0, dialogs);
        await page.Context.CloseAsync();
    }
}
