using System.Globalization;
using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

/// <summary>A department works a rising cause in the console: the evidence, an improvement action, and shipping it.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class InsightsPagesTests(ConsoleApp app)
{
    private const string BillingText = "I was charged twice for the same order, the bill shows a double charge on my card";

    [Fact]
    public async Task ADepartmentSeesItsRisingCauseShipsAFixAndTheCustomersAreTold()
    {
        var analysis = await app.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString(BillingText)}");
        var cause = analysis.GetProperty("rootCause").GetProperty("code").GetString()!;
        var department = (await app.GetAsync("/api/v1/root-causes")).EnumerateArray()
            .First(c => c.GetProperty("code").GetString() == cause).GetProperty("department").GetString()!;
        var head = $"{Unique.Id("head")}@dept.test";
        await app.PostAsync("/api/v1/users", new { email = head, name = "Dee Partment", role = "department", department, password = ConsoleApp.Password });

        // Three weeks of one mention a day, then twelve in the last hours; one comment tries to run script.
        var now = DateTimeOffset.UtcNow;
        var run = Unique.Id("ins");
        var items = new List<object>();
        for (var day = 21; day >= 1; day--)
        {
            items.Add(Record($"{run}-old-{day}", $"{run}-oc-{day}", now.AddDays(-day).AddHours(-2), BillingText));
        }
        for (var i = 0; i < 12; i++)
        {
            items.Add(Record($"{run}-new-{i}", $"{run}-nc-{i}", now.AddMinutes(-10 - i * 20),
                i == 0 ? BillingText + " <img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>" : BillingText));
        }
        await app.PostAsync("/api/v1/responses/batch", items);
        var agent = $"{Unique.Id("agent")}@site.test";
        await app.CreateUserAsync(agent, "agent", site: "insights-north");
        var raised = await app.PostAsync("/api/v1/cause-alerts/detect", new { });
        var alertId = raised.EnumerateArray().First(a => a.GetProperty("cause").GetString() == cause).GetProperty("id").GetInt64();

        var page = await app.SignedInPageAsync(head);
        await page.GotoAsync("/insights/cause-alerts");
        await page.ClickAsync($"a[href='/insights/cause-alerts/{alertId}']");
        await page.WaitForURLAsync($"**/insights/cause-alerts/{alertId}");
        // The customer's markup is shown as text, and nothing ran.
        var examples = await page.Locator("[data-testid=example]").AllTextContentsAsync();
        Assert.Contains(examples, e => e.Contains("<img src=x onerror=", StringComparison.Ordinal));
        Assert.NotEqual("pwned", await page.TitleAsync());
        await ConsoleApp.ScreenshotAsync(page, "cause-alert");

        await page.ClickAsync("[data-testid=acknowledge]");
        Assert.Equal("acknowledged", await page.TextContentAsync("[data-testid=status]"));
        await page.FillAsync("form[data-testid=new-action] input[name=title]", "Stop double charges at checkout");
        await page.FillAsync("form[data-testid=new-action] textarea[name=message]", "we fixed the payment retry that charged some cards twice");
        await page.FillAsync("form[data-testid=new-action] input[name=dueAt]", now.AddDays(7).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await page.ClickAsync("form[data-testid=new-action] button[type=submit]");
        await page.WaitForURLAsync("**/insights/actions*");
        var row = page.Locator("table[data-testid=improvement-actions] tr", new PageLocatorOptions { HasText = "Stop double charges at checkout" });
        await row.Locator("button", new LocatorLocatorOptions { HasText = "shipped" }).ClickAsync();
        var message = await page.TextContentAsync("[data-testid=message]");
        Assert.Contains("Shipped. 12 customers told", message, StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "improvement-actions");

        await page.GotoAsync("/insights");
        Assert.Contains(cause, await page.TextContentAsync("[data-testid=pareto]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "insights");
        await page.Context.CloseAsync();

        // An agent has no business with a department's causes: the pages do not exist for them.
        var agentPage = await app.SignedInPageAsync(agent);
        var response = await agentPage.GotoAsync($"/insights/cause-alerts/{alertId}");
        Assert.Equal(404, response!.Status);
        await agentPage.Context.CloseAsync();
    }

    private static object Record(string id, string customer, DateTimeOffset at, string comment) => new
    {
        externalId = id,
        customer = new { externalId = customer, email = $"{customer}@example.com", name = customer },
        metric = "csat",
        score = 1,
        comment,
        respondedAt = at.ToString("O", CultureInfo.InvariantCulture),
        site = "insights-north",
        channel = "email",
    };
}
