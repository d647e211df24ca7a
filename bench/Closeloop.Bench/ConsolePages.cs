using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Closeloop.Bench;

/// <summary>
/// Issue 4 (console): time to the complete HTML of console pages for a signed-in admin, with the demo month and then
/// with --console-rows more responses added through the batch API (the demo's alert rules active, so the inbox fills too).
/// </summary>
public static partial class ConsoleFigures
{
    private const string Email = "bench-admin@example.com";
    private const string Password = "bench-password-1234";

    public static async Task RunAsync(Options o)
    {
        Report.Line("## Console pages, server time to the complete HTML (issue 4)");
        Report.Line();
        Report.Line($"A fresh database loaded by `closeloop demo` (a month of contacts and responses, with the demo's alert rules and alerts), an admin made by " +
            $"`closeloop user create --role admin`, signed in through the login form (anti-forgery token and cookie). Each page: 40 warm-up GETs (at most 10 s), then {o.PageRequests} GETs per repetition " +
            "over one keep-alive connection, timed to the last byte of the HTML, each followed by GET /health (the baseline: the same server, connection and client, " +
            "no page). `{alert}` is the newest alert, `{customer}` the customer with the most responses. Then the same after adding " +
            $"{o.ConsoleRows:N0} responses (the benchmark shape, 2026) through POST /api/v1/responses/batch with the demo's rules active.");
        Report.Line();
        var db = Path.Combine(o.Work, "console.db");
        Figures.Fresh(db);
        var cwd = Path.GetDirectoryName(o.Closeloop);
        var demo = await Shell.RunAsync("dotnet", [o.Closeloop, "demo", .. Figures.DbArgs(db)], Figures.Env, cwd);
        Report.Note("demo: " + demo.Split('\n').FirstOrDefault(l => l.StartsWith("Demo data loaded", StringComparison.Ordinal)));
        await Shell.RunAsync("dotnet", [o.Closeloop, "user", "create", "--email", Email, "--password", Password, "--role", "admin", "--name", "Bench Admin", .. Figures.DbArgs(db)], Figures.Env, cwd);

        await using (var app = await ServerProcess.StartAsync(o.Closeloop, 5211, Figures.DbArgs(db), Figures.Env, Path.Combine(o.Work, "closeloop-console-demo.log")))
        {
            await MeasureAsync(o, app, db, $"demo month ({Counts(db)})");
        }
        if (o.ConsoleRows > 0)
        {
            await using var app = await ServerProcess.StartAsync(o.Closeloop, 5211, Figures.DbArgs(db), Figures.Env, Path.Combine(o.Work, "closeloop-console-big.log"));
            var watch = Stopwatch.StartNew();
            long created = 0;
            var firsts = Enumerable.Range(0, (int)(o.ConsoleRows / 1000)).Select(b => (long)b * 1000).ToArray();
            foreach (var slice in firsts.Chunk(100))
            {
                created += await Figures.PostAsync(app.BaseUrl, "/api/v1/responses/batch", slice.Select(f => Shape.Batch("cp-", f, 1000, o.ConsoleRows)).ToArray(), o.Clients);
            }
            Report.Note($"added {created:N0} responses in {watch.Elapsed.TotalSeconds:N0} s");
            await MeasureAsync(o, app, db, $"demo month + {created:N0} responses ({Counts(db)})");
        }
    }

    private static string Counts(string db) =>
        $"{RawSqlite.Count(db, "contacts"):N0} contacts, {RawSqlite.Count(db, "responses"):N0} responses, {RawSqlite.Count(db, "alerts"):N0} alerts";

    private static async Task MeasureAsync(Options o, ServerProcess app, string db, string title)
    {
        var cookies = new CookieContainer();
        using var http = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false, MaxConnectionsPerServer = 1 })
        {
            BaseAddress = new Uri(app.BaseUrl),
            Timeout = TimeSpan.FromMinutes(2),
        };
        await SignInAsync(http);
        var pages = o.Pages.Select(p => p.Replace("{alert}", Scalar(db, "SELECT CAST(MAX(id) AS TEXT) FROM alerts") ?? "1", StringComparison.Ordinal)
            .Replace("{customer}", Uri.EscapeDataString(Scalar(db, "SELECT c.external_id FROM customers c JOIN (SELECT customer_id, COUNT(*) n FROM responses GROUP BY customer_id ORDER BY n DESC LIMIT 1) r ON r.customer_id = c.id") ?? "none"), StringComparison.Ordinal))
            .ToArray();
        foreach (var page in pages)
        {
            // Enough warm-up for tiered compilation to settle (a method is recompiled after 30 calls), at most 10 s a page.
            var warm = Stopwatch.StartNew();
            for (var i = 0; i < 40 && warm.Elapsed < TimeSpan.FromSeconds(10); i++)
            {
                await GetAsync(http, page);
            }
        }
        var results = pages.ToDictionary(p => p, _ => new List<(double P50, double P99, double Health, long Bytes)>());
        for (var rep = 1; rep <= o.Reps; rep++)
        {
            foreach (var page in pages)
            {
                var times = new List<double>();
                var health = new List<double>();
                long bytes = 0;
                for (var i = 0; i < o.PageRequests; i++)
                {
                    var (ms, length) = await GetAsync(http, page);
                    times.Add(ms);
                    bytes = length;
                    health.Add((await GetAsync(http, "/health")).Ms);
                }
                times.Sort();
                health.Sort();
                results[page].Add((Stats.Percentile(times, 50), Stats.Percentile(times, 99), Stats.Percentile(health, 50), bytes));
            }
        }
        Report.Line($"### {title}");
        Report.Line();
        Report.Line("| page | p50 ms | p99 ms | HTML KiB | GET /health p50 ms (baseline) | page p50 − health p50 | target < 300 ms (p99) |");
        Report.Line("|---|---|---|---|---|---|---|");
        foreach (var page in pages)
        {
            var r = results[page];
            var p50 = Stats.Median(r.Select(x => x.P50));
            var p99 = Stats.Median(r.Select(x => x.P99));
            var h = Stats.Median(r.Select(x => x.Health));
            Report.Line($"| `{page}` | {p50:N1} | {p99:N1} | {r[^1].Bytes / 1024.0:N0} | {h:N2} | {p50 - h:N1} | {(p99 < 300 ? "met" : "**not met**")} |");
        }
        Report.Line();
        Report.Line($"Server VmHWM {Stats.F(app.PeakRssMiB())} MiB.");
        Report.Line();
    }

    private static async Task SignInAsync(HttpClient http)
    {
        using var form = await http.GetAsync("/login");
        var html = await form.Content.ReadAsStringAsync();
        var token = TokenRegex().Match(html);
        if (!token.Success)
        {
            throw new InvalidOperationException("no anti-forgery token on /login");
        }
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = Email,
            ["password"] = Password,
            ["returnUrl"] = "",
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        });
        using var response = await http.PostAsync("/login", content);
        if (response.StatusCode != HttpStatusCode.Redirect)
        {
            throw new InvalidOperationException($"sign-in answered {(int)response.StatusCode}: {(await response.Content.ReadAsStringAsync())[..200]}");
        }
    }

    private static async Task<(double Ms, long Bytes)> GetAsync(HttpClient http, string path)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(path);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var ms = watch.Elapsed.TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {response.Headers.Location}");
        }
        return (ms, bytes.Length);
    }

    private static string? Scalar(string db, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() is { } v and not DBNull ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenRegex();
}
