using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

[Collection(ConsoleCollection.Name)]
public sealed class AdminPagesTests(ConsoleApp app)
{
    private static readonly string[] AdminPages = ["/admin/users", "/admin/teams", "/admin/sites", "/admin/rules", "/admin/root-causes", "/admin/api-keys", "/admin/webhooks"];

    private async Task PostResponseAsync(string site, string externalId, int score, string? comment, TimeSpan ago) =>
        await app.PostAsync("/api/v1/responses", new
        {
            externalId, customer = new { externalId = Unique.Id("cust") }, metric = "csat", score, comment,
            respondedAt = DateTimeOffset.UtcNow.Subtract(ago).ToString("O"), site, channel = "phone",
        });

    [Fact]
    public async Task AnAdminCreatesARulePreviewsItOnLastWeeksResponsesAndSwitchesItOffAndDeletesIt()
    {
        var site = Unique.Id("east");
        // Two bad answers of this site in the last week, one good one, and a bad one from before the week.
        await PostResponseAsync(site, Unique.Id("r"), 1, "<b>Nobody</b> called me back <script>window.__xss = 1</script>", TimeSpan.FromDays(1));
        await PostResponseAsync(site, Unique.Id("r"), 2, "Slow", TimeSpan.FromDays(5));
        await PostResponseAsync(site, Unique.Id("r"), 5, "Lovely", TimeSpan.FromDays(2));
        await PostResponseAsync(site, Unique.Id("r"), 1, "Old news", TimeSpan.FromDays(9));
        // A rule is saved only with an owner that exists: the recovery pool gets its member first.
        var specialist = $"{Unique.Id("recovery")}@example.com";
        await app.CreateUserAsync(specialist, "recovery");
        (await app.Api.PutAsJsonAsync("/api/v1/pools/recovery", new { members = new[] { specialist } })).EnsureSuccessStatusCode();
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/rules");

        var name = $"East unhappy {Unique.Id("n")}";
        await page.FillAsync("input[name='Form.Name']", name);
        await page.FillAsync("textarea[name='Form.When']", $$"""{"all": [{"field": "site", "op": "eq", "value": "{{site}}"}, {"field": "score", "op": "lte", "value": 2}]}""");
        await page.SelectOptionAsync("select[name='Form.OwnerKind']", "pool");
        await page.FillAsync("input[name='Form.OwnerName']", "recovery");
        await page.FillAsync("input[name='Form.Deadline']", "PT4H");
        await page.FillAsync("textarea[name='Form.Escalation']", """[{"after": "PT1H", "to": {"kind": "siteManager"}}]""");
        await page.ClickAsync("[data-testid=preview-rule]");

        Assert.Equal("2", await page.TextContentAsync("[data-testid=preview-count]"));
        var examples = page.Locator("[data-testid=preview-examples] tbody tr");
        Assert.Equal(2, await examples.CountAsync());
        Assert.Contains("<b>Nobody</b> called me back <script>", await examples.First.TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.EvaluateAsync<bool>("typeof window.__xss === 'undefined'"));
        // The form keeps what was typed, so the previewed rule is the one saved.
        Assert.Equal("PT4H", await page.InputValueAsync("input[name='Form.Deadline']"));
        await ConsoleApp.ScreenshotAsync(page, "admin-rules-preview");

        await page.ClickAsync("[data-testid=save-rule]");
        await page.WaitForURLAsync("**/admin/rules");
        var row = page.Locator("[data-testid=rules] tbody tr").Filter(new LocatorFilterOptions { HasText = name });
        Assert.Contains($"site = {site} and score ≤ 2", await row.TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("pool recovery", await row.TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("after PT1H: site manager", await row.TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("enabled", await row.Locator("td[data-label=State]").TextContentAsync(), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "admin-rules");

        // The API sees the same rule.
        var id = (await app.GetAsync("/api/v1/alert-rules")).EnumerateArray().Single(r => r.GetProperty("name").GetString() == name).GetProperty("id").GetInt64();
        await row.Locator($"[data-testid=toggle-rule-{id}]").ClickAsync();
        await page.WaitForURLAsync("**/admin/rules");
        Assert.Contains("disabled", await row.Locator("td[data-label=State]").TextContentAsync(), StringComparison.Ordinal);
        Assert.False((await app.GetAsync($"/api/v1/alert-rules/{id}")).GetProperty("enabled").GetBoolean());

        // A bad edit is refused with the message beside the field, and the rule is unchanged.
        await row.Locator($"[data-testid=edit-rule-{id}]").ClickAsync();
        Assert.Equal(name, await page.InputValueAsync("input[name='Form.Name']"));
        await page.FillAsync("input[name='Form.Deadline']", "soon");
        await page.FillAsync("textarea[name='Form.When']", """{"field": "mood", "op": "eq", "value": "bad"}""");
        var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("[data-testid=save-rule]"), r => r.Request.Method == "POST");
        Assert.Equal(400, refused.Status);
        Assert.Contains("ISO 8601", await page.TextContentAsync("[data-field=deadline]"), StringComparison.Ordinal);
        Assert.Contains("when.field", await page.TextContentAsync("[data-field=when]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "admin-rules-errors");
        Assert.Equal("PT4H", (await app.GetAsync($"/api/v1/alert-rules/{id}")).GetProperty("deadline").GetString());
        // A JSON box that does not parse is named too, and the other fields are still checked.
        await page.FillAsync("textarea[name='Form.Escalation']", "[{\"after\": ");
        await page.ClickAsync("[data-testid=save-rule]");
        Assert.Contains("not valid JSON", await page.TextContentAsync("[data-field=escalation]"), StringComparison.Ordinal);
        Assert.Contains("ISO 8601", await page.TextContentAsync("[data-field=deadline]"), StringComparison.Ordinal);

        await page.GotoAsync("/admin/rules");
        await row.Locator($"[data-testid=delete-rule-{id}]").ClickAsync();
        await page.WaitForURLAsync("**/admin/rules");
        Assert.Equal(0, await row.CountAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await app.Api.GetAsync($"/api/v1/alert-rules/{id}")).StatusCode);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnAdminCreatesAnApiKeySeesItOnceAndRevokesIt()
    {
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/api-keys");
        var name = $"CRM sync {Unique.Id("k")}";
        await page.ClickAsync("#create-key >> xpath=.. >> summary");
        await page.FillAsync("#create-key input[name=name]", name);
        await page.SelectOptionAsync("#create-key select[name=role]", "integration");
        await page.ClickAsync("[data-testid=create-key]");

        var key = await page.InputValueAsync("[data-testid=new-key] [data-testid=secret]");
        Assert.StartsWith("cl_", key, StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "admin-api-key-created");
        using var machine = new HttpClient { BaseAddress = app.BaseAddress };
        machine.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await machine.GetAsync("/api/v1/sites")).StatusCode);

        // Shown once: the list holds only the first characters, and loading the page again never shows the key.
        await page.GotoAsync("/admin/api-keys");
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("[data-testid=new-key]").CountAsync());
        var row = page.Locator("[data-testid=keys] tbody tr").Filter(new LocatorFilterOptions { HasText = name });
        Assert.Contains(key[..10], await row.TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal("active", await row.Locator("[data-testid=state]").TextContentAsync());
        await ConsoleApp.ScreenshotAsync(page, "admin-api-keys");

        await row.Locator("button", new LocatorLocatorOptions { HasText = "Revoke" }).ClickAsync();
        await page.WaitForURLAsync("**/admin/api-keys");
        Assert.StartsWith("revoked", await row.Locator("[data-testid=state]").TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await machine.GetAsync("/api/v1/sites")).StatusCode);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnAdminSetsASitesTimeZoneBusinessHoursAndHolidays()
    {
        var site = Unique.Id("harbour");
        await app.PostAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"), customer = new { externalId = Unique.Id("cust") }, channel = "phone", occurredAt = DateTimeOffset.UtcNow.ToString("O"), site,
        });
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/sites");
        var row = page.Locator($"#site-{site}");
        Assert.Contains("Mon–Fri 09:00-17:00", await row.Locator("[data-testid=hours]").TextContentAsync(), StringComparison.Ordinal);

        // A time zone that does not exist is refused, naming the field.
        await page.ClickAsync($"[data-testid=edit-site-{site}]");
        var editor = page.Locator("#site-editor");
        await editor.Locator("input[name=timeZone]").FillAsync("Mars/Olympus_Mons");
        await editor.Locator("[data-testid=save-site]").ClickAsync();
        Assert.Contains("IANA", await editor.Locator("[data-field=timeZone]").TextContentAsync(), StringComparison.Ordinal);

        await editor.Locator("input[name=timeZone]").FillAsync("Europe/London");
        foreach (var day in new[] { "mon", "tue", "wed", "thu", "fri" })
        {
            await editor.Locator($"input[name='hours.{day}']").FillAsync("08:00-18:00");
        }
        await editor.Locator("input[name='hours.sat']").FillAsync("10:00-14:00");
        await ConsoleApp.ScreenshotAsync(page, "admin-site-editor");
        await editor.Locator("[data-testid=save-site]").ClickAsync();
        await page.WaitForURLAsync("**/admin/sites?saved=*");
        Assert.Equal("Europe/London", await row.Locator("[data-testid=time-zone]").TextContentAsync());
        Assert.Equal("Mon–Fri 08:00-18:00 · Sat 10:00-14:00", await row.Locator("[data-testid=hours]").TextContentAsync());
        Assert.Equal("Europe/London", (await app.GetAsync($"/api/v1/sites/{site}")).GetProperty("timeZone").GetString());

        await page.ClickAsync($"[data-testid=edit-site-{site}]");
        await editor.Locator("input[name=calendar]").SetInputFilesAsync(new FilePayload
        {
            Name = "holidays.ics", MimeType = "text/calendar",
            Buffer = Encoding.UTF8.GetBytes("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"),
        });
        await editor.Locator("[data-testid=import-holidays]").ClickAsync();
        await page.WaitForURLAsync("**/admin/sites?saved=*");
        Assert.Contains("2 day(s) imported", await page.TextContentAsync("[data-testid=message]"), StringComparison.Ordinal);
        Assert.Equal("2: 2026-12-25, 2026-12-26", await row.Locator("[data-testid=holidays]").TextContentAsync());
        await ConsoleApp.ScreenshotAsync(page, "admin-sites");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnAdminKeepsTheTaxonomyAndTheWebhooks()
    {
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/root-causes");
        var category = Unique.Id("delivery");
        await page.ClickAsync("#create-cause >> xpath=.. >> summary");
        await page.FillAsync("#create-cause input[name=code]", category);
        await page.FillAsync("#create-cause input[name=name]", "Delivery");
        await page.FillAsync("#create-cause input[name=department]", "Logistics");
        await page.ClickAsync("[data-testid=add-cause]");
        await page.WaitForURLAsync("**/admin/root-causes");
        var child = $"{category}.late";
        await page.ClickAsync("#create-cause >> xpath=.. >> summary");
        await page.FillAsync("#create-cause input[name=code]", child);
        await page.FillAsync("#create-cause input[name=name]", "Parcel arrived late");
        await page.SelectOptionAsync("#create-cause select[name=parent]", category);
        await page.FillAsync("#create-cause input[name=department]", "Logistics");
        await page.ClickAsync("[data-testid=add-cause]");
        await page.WaitForURLAsync("**/admin/root-causes");
        Assert.Contains(category, await page.Locator($"[id='cause-{child}'] td[data-label=Category]").TextContentAsync(), StringComparison.Ordinal);
        var cause = (await app.GetAsync("/api/v1/root-causes")).EnumerateArray().Single(c => c.GetProperty("code").GetString() == child);
        Assert.Equal(category, cause.GetProperty("parent").GetString());

        // A category with causes under it cannot be deleted; the cause can.
        Assert.True(await page.Locator($"[data-testid='delete-cause-{category}']").IsDisabledAsync());
        await page.ClickAsync($"[id='cause-{child}'] summary");
        await page.ClickAsync($"[data-testid='delete-cause-{child}']");
        await page.WaitForURLAsync("**/admin/root-causes");
        Assert.Equal(0, await page.Locator($"[id='cause-{child}']").CountAsync());
        await ConsoleApp.ScreenshotAsync(page, "admin-root-causes");

        await page.GotoAsync("/admin/webhooks");
        await page.ClickAsync("#create-webhook >> xpath=.. >> summary");
        await page.FillAsync("#create-webhook input[name=url]", "not a url");
        await page.EvaluateAsync("document.querySelector('#create-webhook input[name=url]').type = 'text'");
        await page.ClickAsync("[data-testid=add-webhook]");
        Assert.Contains("absolute http or https URL", await page.TextContentAsync("[data-field=url]"), StringComparison.Ordinal);
        var url = $"https://hooks.example.com/{Unique.Id("h")}";
        await page.FillAsync("#create-webhook input[name=url]", url);
        await page.FillAsync("#create-webhook input[name=events]", "alert.created, alert.escalated");
        await page.ClickAsync("[data-testid=add-webhook]");
        var secret = await page.InputValueAsync("[data-testid=new-webhook] [data-testid=secret]");
        Assert.Equal(64, secret.Length);
        var row = page.Locator("[data-testid=webhooks] tbody tr").Filter(new LocatorFilterOptions { HasText = url });
        Assert.Contains("alert.created, alert.escalated", await row.TextContentAsync(), StringComparison.Ordinal);
        Assert.Equal("0 delivered, 0 waiting", await row.Locator("[data-testid=deliveries]").TextContentAsync());
        // Beside the webhooks, where e-mail goes (this app has no SMTP setting: the default) and what waits for it.
        Assert.Contains("SMTP server localhost:25", await page.TextContentAsync("[data-testid=email-delivery]"), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "admin-webhooks");
        await page.GotoAsync("/admin/webhooks");
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);
        await row.Locator("button", new LocatorLocatorOptions { HasText = "Delete" }).ClickAsync();
        await page.WaitForURLAsync("**/admin/webhooks");
        Assert.Equal(0, await row.CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AWebhooksPendingDeliveriesShowOnItsRow()
    {
        var site = Unique.Id("dock");
        var team = Unique.Id("t");
        // A receiver that refuses every delivery, so the outbox keeps retrying it: the app's own API answers a POST
        // without a key 401. (Not /health: it answers every method 200, so the delivery raced the page reload.)
        var url = $"{app.BaseAddress.ToString().TrimEnd('/')}/api/v1/no-such-receiver?hook={Unique.Id("h")}";
        await app.PostAsync("/api/v1/webhooks", new { url, events = new[] { "alert.created" }, site = (string?)null });
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/webhooks");
        var row = page.Locator("[data-testid=webhooks] tbody tr").Filter(new LocatorFilterOptions { HasText = url });
        Assert.Equal("0 delivered, 0 waiting", await row.Locator("[data-testid=deliveries]").TextContentAsync());

        // A bad answer raises an alert (the fixture's rule), and its alert.created delivery is queued for the hook.
        await app.PostBadResponseAsync(Unique.Id("r"), Unique.Id("cust"), site, team, "Nobody answered");
        // The delivery is queued when the alert is committed; reload until it shows (a delivery that went through
        // would show as "1 delivered" and fail).
        var deliveries = "";
        for (var attempt = 0; attempt < 50 && deliveries != "0 delivered, 1 waiting"; attempt++)
        {
            await page.ReloadAsync();
            deliveries = await row.Locator("[data-testid=deliveries]").TextContentAsync() ?? "";
        }
        Assert.Equal("0 delivered, 1 waiting", deliveries);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AnAdminCannotLeaveASiteManagerWithoutASite()
    {
        var site = Unique.Id("vendor");
        await app.PostAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("setup"), customer = new { externalId = Unique.Id("setup-cust") }, channel = "phone",
            occurredAt = DateTimeOffset.UtcNow.AddDays(-1).ToString("O"), site,
        });
        var manager = $"{Unique.Id("mgr")}@closeloop.test";
        await app.CreateUserAsync(manager, "site_manager", site);
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);
        await page.GotoAsync("/admin/users");

        // "every site" on a site manager would widen their scope to every vendor's data.
        var row = page.Locator("tbody tr").Filter(new LocatorFilterOptions { HasText = manager });
        await row.Locator("summary").ClickAsync();
        await row.Locator("select[name=site]").SelectOptionAsync("");
        await row.Locator("button[type=submit]").ClickAsync();

        Assert.Contains("site: is required for a site manager", await page.Locator("p.error").TextContentAsync(), StringComparison.Ordinal);
        var users = await app.GetAsync("/api/v1/users");
        Assert.Equal(site, users.EnumerateArray().Single(u => u.GetProperty("email").GetString() == manager).GetProperty("site").GetString());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ASupervisorSeesNoAdminMenuAndEveryAdminPageAnswers404ByUrl()
    {
        var site = Unique.Id("north");
        var team = Unique.Id("care");
        var supervisor = $"{Unique.Id("sup")}@closeloop.test";
        await app.SetUpTeamAsync(site, team, supervisor, "Sam Supervisor");
        var page = await app.SignedInPageAsync(supervisor);
        Assert.Equal(0, await page.Locator("nav .nav-admin").CountAsync());

        foreach (var url in AdminPages)
        {
            var response = await page.GotoAsync(url);
            Assert.True(response!.Status == 404, $"{url} answered {response.Status} to a supervisor");
        }
        // A form posted by hand is refused the same way: no rule is created.
        var before = (await app.GetAsync("/api/v1/alert-rules")).GetArrayLength();
        await page.GotoAsync("/alerts");
        var token = await page.GetAttributeAsync("meta[name=csrf-token]", "content");
        var posted = await page.APIRequest.PostAsync("/admin/rules?handler=Save", new APIRequestContextOptions
        {
            Headers = new Dictionary<string, string> { ["X-CSRF-TOKEN"] = token ?? "" },
            Form = page.APIRequest.CreateFormData().Set("Form.Name", "sneaky").Set("Form.When", """{"field": "score", "op": "lte", "value": 2}""").Set("Form.Deadline", "PT1H"),
        });
        Assert.Equal(404, posted.Status);
        Assert.Equal(before, (await app.GetAsync("/api/v1/alert-rules")).GetArrayLength());
        await page.Context.CloseAsync();
    }
}
