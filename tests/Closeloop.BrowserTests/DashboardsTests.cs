using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Closeloop.BrowserTests.Infrastructure;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests;

/// <summary>The dashboards: a click on a chart opens the records behind it, as many as the figure's n, and they export.</summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class DashboardsTests(ConsoleApp app)
{
    [GeneratedRegex(@"\(n=(\d+)\)$")]
    private static partial Regex CountInLabel();

    private async Task SeedAsync(string site, int days)
    {
        var now = DateTimeOffset.UtcNow;
        var responses = new List<object>();
        var contacts = new List<object>();
        for (var i = 0; i < days * 4; i++)
        {
            var at = now.AddDays(-(i % days)).AddMinutes(-7 * i - 5);
            var team = $"{site}-{(i % 3 == 0 ? "care" : "sales")}";
            var comment = i == 0 ? "=cmd|' /C calc'!A0 <script>document.title='pwned'</script>" : $"comment {i}";
            responses.Add(new
            {
                externalId = Unique.Id("dr"), customer = new { externalId = $"{site}-cust-{i % 6}" }, metric = i % 4 == 3 ? "nps" : "csat", score = i % 4 == 3 ? i % 11 : 1 + i % 5,
                comment, respondedAt = at.ToString("O", CultureInfo.InvariantCulture), site, team, agent = $"{team}-{i % 2}", channel = i % 2 == 0 ? "chat" : "phone",
            });
            contacts.Add(new
            {
                externalId = Unique.Id("dc"), customer = new { externalId = $"{site}-cust-{i % 6}" }, channel = "phone", occurredAt = at.ToString("O", CultureInfo.InvariantCulture),
                site, team, agent = $"{team}-{i % 2}", reason = i % 2 == 0 ? "billing" : "delivery", resolved = i % 3 != 0,
            });
        }
        await app.PostAsync("/api/v1/responses/batch", responses);
        await app.PostAsync("/api/v1/contacts/batch", contacts);
    }

    /// <summary>Where a chart draws an element, in page coordinates, and the n it carries (from the chart's data).</summary>
    private static async Task<(float X, float Y, JsonElement Info)> ElementAsync(IPage page, string canvasId, int index)
    {
        var info = await page.EvaluateAsync<JsonElement>("""
            ([id, i]) => {
                const canvas = document.getElementById(id);
                canvas.scrollIntoView({ block: 'center' });
                const chart = Chart.getChart(canvas);
                const el = chart.getDatasetMeta(0).data[i];
                const p = el.getCenterPoint();
                const r = canvas.getBoundingClientRect();
                return { x: r.left + p.x, y: r.top + p.y, label: String(chart.data.labels[i]), value: chart.data.datasets[0].data[i] };
            }
            """, new object[] { canvasId, index });
        return ((float)info.GetProperty("x").GetDouble(), (float)info.GetProperty("y").GetDouble(), info);
    }

    [Fact]
    public async Task AClickOnABarOrPointOpensTheRecordsBehindItAndTheyExport()
    {
        var site = Unique.Id("dash");
        await SeedAsync(site, 5);
        // A team code is whatever an integration sent: this one tries to close the script element that carries the chart data.
        var hostile = $"{site}-</script><img src=x onerror=\"document.title='pwned'\">";
        await app.PostAsync("/api/v1/responses", new
        {
            externalId = Unique.Id("dr"), customer = new { externalId = $"{site}-cust-x" }, metric = "csat", score = 5,
            respondedAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("O", CultureInfo.InvariantCulture), site, team = hostile, channel = "chat",
        });
        var page = await app.SignedInPageAsync(ConsoleApp.AdminEmail);

        await page.GotoAsync($"/dashboards?site={site}&by=team");
        await page.WaitForFunctionAsync("() => window.Chart && Chart.getChart(document.getElementById('by-csat'))");
        await ConsoleApp.ScreenshotAsync(page, "dashboards");
        var embedded = JsonDocument.Parse(await page.TextContentAsync("#dashboard-data") ?? "{}").RootElement;
        Assert.Contains(hostile, embedded.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("key").GetString()));
        Assert.Contains(hostile, await page.Locator("[data-testid=groups] td").AllTextContentsAsync());
        Assert.NotEqual("pwned", await page.TitleAsync());

        // A bar of CSAT by team: its label carries its n, and the list it opens has exactly that many rows.
        var (x, y, bar) = await ElementAsync(page, "by-csat", 0);
        var n = int.Parse(CountInLabel().Match(bar.GetProperty("label").GetString()!).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(n > 0);
        await page.Mouse.ClickAsync(x, y);
        await page.WaitForURLAsync("**/dashboards/records?**");
        Assert.Contains("metric=csat", page.Url, StringComparison.Ordinal);
        Assert.Contains("team=", page.Url, StringComparison.Ordinal);
        Assert.Equal(n, await page.Locator("[data-testid=record]").CountAsync());
        Assert.Equal($"n = {n}", await page.TextContentAsync("[data-testid=records-total]"));
        // A comment's markup is text: shown as written, never run.
        Assert.NotEqual("pwned", await page.TitleAsync());
        await ConsoleApp.ScreenshotAsync(page, "dashboard-records");

        // The CSV link downloads the same records, formula-like text defused.
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=records-csv]"));
        var csv = await File.ReadAllTextAsync(await download.PathAsync());
        Assert.StartsWith("kind,id,external_id,at,customer,site,team,agent,channel,metric,score,comment", csv, StringComparison.Ordinal);
        Assert.Equal(n + 1, csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain(",=cmd", csv, StringComparison.Ordinal);

        // A point of CSAT by day opens that day's responses.
        await page.GoBackAsync();
        await page.WaitForFunctionAsync("() => window.Chart && Chart.getChart(document.getElementById('day-csat'))");
        var data = JsonDocument.Parse(await page.TextContentAsync("#dashboard-data") ?? "{}").RootElement;
        var days = data.GetProperty("days").EnumerateArray().ToList();
        var index = days.FindLastIndex(d => d.GetProperty("csat").GetProperty("n").GetInt32() > 0);
        var dayN = days[index].GetProperty("csat").GetProperty("n").GetInt32();
        var (px, py, _) = await ElementAsync(page, "day-csat", index);
        await page.Mouse.ClickAsync(px, py);
        await page.WaitForURLAsync("**/dashboards/records?**");
        Assert.Contains($"day={days[index].GetProperty("key").GetString()}", page.Url, StringComparison.Ordinal);
        Assert.Equal(dayN, await page.Locator("[data-testid=record]").CountAsync());

        // The table by dimension exports too.
        await page.GoBackAsync();
        await page.WaitForFunctionAsync("() => window.Chart && Chart.getChart(document.getElementById('day-csat'))");
        var groups = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=groups-csv]"));
        var table = await File.ReadAllLinesAsync(await groups.PathAsync());
        Assert.StartsWith("dimension,key,csat,csat_n", table[0], StringComparison.Ordinal);
        Assert.Equal(3, table.Count(l => l.StartsWith($"team,{site}-", StringComparison.Ordinal) || l.StartsWith($"team,\"{site}-", StringComparison.Ordinal)));

        // Every CSAT response of the site, the one whose comment holds markup among them: shown as text, never run.
        await page.GotoAsync($"/dashboards/records?metric=csat&site={site}");
        Assert.Contains(await page.Locator("[data-testid=record] td.comment").AllTextContentsAsync(), c => c.Contains("<script>document.title='pwned'</script>", StringComparison.Ordinal));
        Assert.NotEqual("pwned", await page.TitleAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AVendorSiteManagerSeesOnlyTheirSite()
    {
        var (own, vendor) = (Unique.Id("inh"), Unique.Id("vnd"));
        await SeedAsync(own, 3);
        await SeedAsync(vendor, 3);
        var manager = $"{Unique.Id("mgr")}@vendor.test";
        await app.CreateUserAsync(manager, "site_manager", site: vendor);
        var page = await app.SignedInPageAsync(manager);

        // The address PRODUCT.md gives (it redirects to /dashboards, where the other tests go).
        await page.GotoAsync("/dashboard?by=site");
        await page.WaitForFunctionAsync("() => window.Chart && Chart.getChart(document.getElementById('by-csat'))");
        var data = JsonDocument.Parse(await page.TextContentAsync("#dashboard-data") ?? "{}").RootElement;
        Assert.Equal([vendor], data.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("key").GetString()).ToList());
        Assert.DoesNotContain(own, await page.ContentAsync(), StringComparison.Ordinal);
        await ConsoleApp.ScreenshotAsync(page, "dashboards-vendor-site-manager");

        var (x, y, _) = await ElementAsync(page, "by-csat", 0);
        await page.Mouse.ClickAsync(x, y);
        await page.WaitForURLAsync("**/dashboards/records?**");
        var sites = await page.Locator("[data-testid=record] td[data-label=Site]").AllTextContentsAsync();
        Assert.NotEmpty(sites);
        Assert.All(sites, s => Assert.Equal(vendor, s.Trim()));

        // Another site's dashboard, records and export answer as if they did not exist.
        Assert.Equal(404, (await page.GotoAsync($"/dashboards?site={own}"))!.Status);
        Assert.Equal(404, (await page.GotoAsync($"/dashboard?site={own}"))!.Status);
        Assert.Equal(404, (await page.GotoAsync($"/dashboards/records?metric=csat&site={own}"))!.Status);
        Assert.Equal(404, (await page.GotoAsync($"/dashboards/records?metric=csat&team={own}-care"))!.Status);
        var unfiltered = await page.APIRequest.GetAsync("/dashboards/records?metric=csat&format=csv");
        Assert.Equal(200, unfiltered.Status);
        var lines = (await unfiltered.TextAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Contains($",{vendor},", l, StringComparison.Ordinal));

        // The inbox and customer lists export only what the person may see as well.
        await page.GotoAsync("/alerts?status=all");
        var inbox = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=inbox-csv]"));
        var alerts = (await File.ReadAllLinesAsync(await inbox.PathAsync())).Skip(1).ToList();
        Assert.NotEmpty(alerts);
        Assert.All(alerts, l => Assert.Contains($",{vendor},", l, StringComparison.Ordinal));
        await page.GotoAsync("/customers");
        var customers = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=customers-csv]"));
        var people = (await File.ReadAllLinesAsync(await customers.PathAsync())).Skip(1).ToList();
        Assert.NotEmpty(people);
        Assert.All(people, l => Assert.StartsWith($"{vendor}-cust-", l, StringComparison.Ordinal));
        await page.Context.CloseAsync();
    }
}
