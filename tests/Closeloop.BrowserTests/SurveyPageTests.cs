using System.Text.Json;
using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

/// <summary>The public survey page as a customer meets it: on a phone, from an e-mail link, without an account.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class SurveyPageTests(ConsoleApp app)
{
    /// <summary>A phone-sized, touch screen without cookies: the customer has no account.</summary>
    private async Task<IPage> PhoneAsync()
    {
        var context = await app.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = app.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 390, Height = 844 },
            DeviceScaleFactor = 2,
            IsMobile = true,
            HasTouch = true,
        });
        context.SetDefaultTimeout(10_000);
        return await context.NewPageAsync();
    }

    /// <summary>A team with a supervisor, a customer's contact with its agent, and an invitation about that contact.</summary>
    private async Task<(string Site, string Supervisor, string Customer, string Token)> InvitationAsync()
    {
        var site = Unique.Id("east");
        var team = Unique.Id("care");
        var supervisor = $"{Unique.Id("sup")}@closeloop.test";
        await app.SetUpTeamAsync(site, team, supervisor, "Sol Supervisor");
        var customer = Unique.Id("cust");
        var contact = Unique.Id("call");
        await app.PostAsync("/api/v1/contacts", new
        {
            externalId = contact, customer = new { externalId = customer, email = $"{customer}@customer.example.com" }, channel = "phone",
            occurredAt = DateTimeOffset.UtcNow.AddMinutes(-30).ToString("O"), site, team, agent = team + "-agent",
        });
        var invitation = await app.PostAsync("/api/v1/survey-invitations", new { customer = new { externalId = customer }, contactExternalId = contact });
        return (site, supervisor, customer, invitation.GetProperty("token").GetString()!);
    }

    private async Task<List<JsonElement>> ResponsesOfAsync(string customer) =>
        (await app.GetAsync($"/api/v1/customers/{customer}/timeline")).GetProperty("items").EnumerateArray()
            .Where(i => i.GetProperty("kind").GetString() == "response").Select(i => i.GetProperty("response")).ToList();

    private static ILocator RatingItem(IPage page, int score) =>
        page.Locator(".sd-rating__item").Filter(new LocatorFilterOptions { HasTextRegex = new System.Text.RegularExpressions.Regex($"^\\s*{score}\\s*$") });

    // The page's Content-Security-Policy forbids eval, which Playwright's WaitForFunction needs: the tests wait on selectors.
    private static async Task SendAsync(IPage page, string expectedState = "sent")
    {
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Send" }).ClickAsync();
        await page.Locator($"body[data-survey-state={expectedState}]").WaitForAsync();
    }

    [Fact]
    public async Task ACustomerAnswersOnAPhoneAndABadScoreRaisesAnAlert()
    {
        var (site, _, customer, token) = await InvitationAsync();
        var phone = await PhoneAsync();

        var opened = await phone.GotoAsync($"/s/{token}");
        Assert.Equal(200, opened!.Status);
        await phone.Locator("body[data-survey-state=ready]").WaitForAsync();
        // Nothing wider than the screen: no sideways scrolling on a phone.
        Assert.True(await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
        await ConsoleApp.ScreenshotAsync(phone, "survey-phone");

        await RatingItem(phone, 2).TapAsync();
        await phone.Locator("textarea").FillAsync("Waited forty minutes and nobody could help with my refund.");
        await SendAsync(phone);
        await ConsoleApp.ScreenshotAsync(phone, "survey-phone-sent");

        var response = Assert.Single(await ResponsesOfAsync(customer));
        Assert.Equal(2, response.GetProperty("score").GetInt32());
        Assert.Equal(site, response.GetProperty("site").GetString());
        var alerts = (await app.GetAsync($"/api/v1/alerts?site={site}")).GetProperty("items");
        Assert.Equal(1, alerts.GetArrayLength());
        await phone.Context.CloseAsync();
    }

    [Fact]
    public async Task AnNpsSurveyFitsAPhoneAndItsElevenPointScaleCanBeAnswered()
    {
        var customer = Unique.Id("cust");
        await app.PostAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("call"), customer = new { externalId = customer }, channel = "chat", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"),
        });
        var token = (await app.PostAsync("/api/v1/survey-invitations", new { customer = new { externalId = customer }, metric = "nps" })).GetProperty("token").GetString();
        var phone = await PhoneAsync();

        await phone.GotoAsync($"/s/{token}?score=9");
        await phone.Locator("body[data-survey-state=ready]").WaitForAsync();
        Assert.True(await phone.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
        await ConsoleApp.ScreenshotAsync(phone, "survey-phone-nps");
        await SendAsync(phone);

        var response = Assert.Single(await ResponsesOfAsync(customer));
        Assert.Equal("nps", response.GetProperty("metric").GetString());
        Assert.Equal(9, response.GetProperty("score").GetInt32());
        await phone.Context.CloseAsync();
    }

    [Fact]
    public async Task AnAnsweredLinkIsRefusedOnReloadAndInATabOpenedBefore()
    {
        var (_, _, customer, token) = await InvitationAsync();
        var first = await PhoneAsync();
        var second = await first.Context.NewPageAsync();
        foreach (var page in new[] { first, second })
        {
            await page.GotoAsync($"/s/{token}");
            await page.Locator("body[data-survey-state=ready]").WaitForAsync();
        }

        await RatingItem(first, 5).TapAsync();
        await SendAsync(first);
        await RatingItem(second, 1).TapAsync();
        await SendAsync(second, "refused");
        Assert.Contains("already been answered", await second.Locator("body").TextContentAsync(), StringComparison.Ordinal);

        var reopened = await first.GotoAsync($"/s/{token}");
        Assert.Equal(410, reopened!.Status);
        Assert.Contains("already been answered", await first.TextContentAsync("[data-testid=survey-refused]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(first, "survey-phone-refused");
        Assert.Equal(5, Assert.Single(await ResponsesOfAsync(customer)).GetProperty("score").GetInt32());
        await first.Context.CloseAsync();
    }

    [Fact]
    public async Task AScoreChosenInAnEmailIsPreFilledAndCountsOnlyWhenTheCustomerSendsIt()
    {
        var (_, _, customer, token) = await InvitationAsync();
        var phone = await PhoneAsync();

        await phone.GotoAsync($"/s/{token}?score=1");
        await phone.Locator("body[data-survey-state=ready]").WaitForAsync();
        Assert.Contains("selected", await RatingItem(phone, 1).GetAttributeAsync("class"), StringComparison.Ordinal);
        // Opening the link (as a mail scanner does) records nothing.
        Assert.Empty(await ResponsesOfAsync(customer));

        await SendAsync(phone);
        Assert.Equal(1, Assert.Single(await ResponsesOfAsync(customer)).GetProperty("score").GetInt32());
        await phone.Context.CloseAsync();
    }

    [Fact]
    public async Task MarkupInACommentSentFromTheSurveyIsShownAsTextInTheConsoleAndNeverRuns()
    {
        var (site, supervisor, customer, token) = await InvitationAsync();
        const string Comment = "<script>window.__xss = 'script'; alert(1)</script><img src=x onerror=\"window.__xss = 'img'; alert(2)\"> Rude agent";
        var phone = await PhoneAsync();
        var dialogs = 0;
        phone.Dialog += (_, d) => { dialogs++; _ = d.DismissAsync(); };
        await phone.GotoAsync($"/s/{token}");
        await phone.Locator("body[data-survey-state=ready]").WaitForAsync();
        await RatingItem(phone, 1).TapAsync();
        await phone.Locator("textarea").FillAsync(Comment);
        await SendAsync(phone);
        Assert.True(await phone.EvaluateAsync<bool>("typeof window.__xss === 'undefined'"));
        await phone.Context.CloseAsync();

        var alert = (await app.GetAsync($"/api/v1/alerts?site={site}")).GetProperty("items")[0].GetProperty("id").GetInt64();
        var page = await app.SignedInPageAsync(supervisor);
        page.Dialog += (_, d) => { dialogs++; _ = d.DismissAsync(); };
        await page.GotoAsync($"/alerts/{alert}");
        Assert.Equal(Comment, await page.TextContentAsync("[data-testid=trigger-comment]"));
        Assert.Equal(0, await page.Locator("[data-testid=trigger] img").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("typeof window.__xss === 'undefined'"));

        await page.GotoAsync($"/customers/{customer}");
        Assert.Contains(Comment, await page.TextContentAsync("[data-testid=timeline]"), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("main img").CountAsync());
        Assert.True(await page.EvaluateAsync<bool>("typeof window.__xss === 'undefined'"));
        Assert.Equal(0, dialogs);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnAdminEditsASurveyAndSeesTheRulesErrorsAndAPreview()
    {
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/surveys?from=ces");
        // The built-in survey is previewed as the customer would see it.
        await page.Locator("[data-testid=survey-preview] .sd-question").First.WaitForAsync();

        var name = Unique.Id("Effort");
        await page.FillAsync("input[name=name]", name);
        var definition = await page.InputValueAsync("#survey-definition");
        await page.FillAsync("#survey-definition", definition.Replace("\"rateMax\": 7", "\"rateMax\": 5", StringComparison.Ordinal));
        await page.ClickAsync("[data-testid=save-survey]");
        Assert.Contains("rateMax", await page.TextContentAsync("[data-testid=survey-errors]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "admin-survey-errors");

        await page.FillAsync("#survey-definition", definition);
        await page.ClickAsync("[data-testid=save-survey]");
        await page.Locator("[data-testid=saved]").WaitForAsync();
        Assert.Contains(name, await page.TextContentAsync("[data-testid=surveys]"), StringComparison.Ordinal);
        var stored = (await app.GetAsync("/api/v1/surveys")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
        Assert.Equal("ces", stored.GetProperty("metric").GetString());
        await page.Context.CloseAsync();
    }
}
