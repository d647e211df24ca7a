using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Closeloop.Bench;

/// <summary>
/// Issue 3 (service recovery): (a) how long after a response is acknowledged its alert reaches a live client on
/// GET /api/v1/alerts/stream, under a background load; (b) ingest throughput with N active rules against none.
/// </summary>
public static class AlertFigures
{
    private const string UnhappyRule = """
        {"name": "Very unhappy customer", "enabled": true,
         "when": {"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]},
         "owner": {"kind": "pool", "name": "recovery"}, "deadline": "PT2H", "clock": "24x7"}
        """;

    /// <summary>
    /// Twenty rules of the kinds a contact centre writes. Against bench/scripts/responses.lua (csat 1–5 evenly, one
    /// comment, 8 channels, 3 sites, 100 agents) rules 1, 9, 10, 11, 13, 14, 18 and 20 match some records; the rest are
    /// evaluated and do not match.
    /// </summary>
    public static readonly string[] TwentyRules =
    [
        """{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"lte","value":2}]}""",
        """{"field":"npsCategory","op":"eq","value":"detractor"}""",
        """{"all":[{"field":"metric","op":"eq","value":"ces"},{"field":"score","op":"lte","value":2}]}""",
        """{"all":[{"field":"sentiment","op":"lt","value":-0.8},{"field":"score","op":"lte","value":3}]}""",
        """{"field":"signal","op":"eq","value":"churn_threat"}""",
        """{"field":"signal","op":"eq","value":"legal_threat"}""",
        """{"field":"comment","op":"containsAny","value":["cancel my account","lawyer","formal complaint"]}""",
        """{"all":[{"field":"customerTier","op":"eq","value":"vip"},{"field":"score","op":"lte","value":3}]}""",
        """{"all":[{"field":"channel","op":"eq","value":"social"},{"field":"score","op":"lte","value":2}]}""",
        """{"all":[{"field":"site","op":"eq","value":"east"},{"field":"score","op":"eq","value":1}]}""",
        """{"all":[{"field":"agent","op":"startsWith","value":"agent-9"},{"field":"score","op":"lte","value":2}]}""",
        """{"all":[{"field":"rootCause","op":"eq","value":"billing.incorrect-charge"},{"field":"score","op":"lte","value":3}]}""",
        """{"all":[{"field":"team","op":"eq","value":"north-billing"},{"field":"score","op":"eq","value":1}]}""",
        """{"all":[{"field":"comment","op":"contains","value":"nobody"},{"field":"score","op":"eq","value":1}]}""",
        """{"field":"signal","op":"eq","value":"profanity"}""",
        """{"all":[{"field":"metric","op":"eq","value":"nps"},{"field":"score","op":"lte","value":3}]}""",
        """{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"sentiment","op":"lt","value":-0.95}]}""",
        """{"all":[{"field":"channel","op":"in","value":["phone","ivr"]},{"field":"score","op":"eq","value":1}]}""",
        """{"field":"site","op":"eq","value":"west"}""",
        """{"all":[{"field":"score","op":"lte","value":2},{"field":"comment","op":"containsAny","value":["waited","refund","charged twice"]}]}""",
    ];

    public static async Task RunAsync(Options o)
    {
        await LatencyAsync(o);
        await RulesThroughputAsync(o);
    }

    // ---------------------------------------------------------------- (a) alert latency
    private static async Task LatencyAsync(Options o)
    {
        Report.Line("## Alert latency to a live client (issue 3)");
        Report.Line();
        Report.Line($"One rule (csat ≤ 2). A background load of {o.Rate:N0} satisfied responses/s (csat 4–5, open loop, HttpClient) runs for {o.Seconds} s per repetition; " +
            $"on their own connection, {o.TriggerRate} probes/s alternate between a triggering response (csat 1, a new customer each, so each raises a new alert) and a plain one (csat 5). " +
            "Alert latency = the moment the live client (HttpClient reading GET /api/v1/alerts/stream) reads the `alert.created` event for that customer minus the moment the " +
            "probe's HTTP response was read (negative: the event arrived first). Baseline: the round trip of the plain probes in the same run.");
        Report.Line();
        var db = Path.Combine(o.Work, "alerts.db");
        Figures.Fresh(db);
        await using var app = await ServerProcess.StartAsync(o.Closeloop, 5206, Figures.DbArgs(db), Figures.Env, Path.Combine(o.Work, "closeloop-alerts.log"));
        using var admin = Figures.Client(app.BaseUrl);
        await PostRuleAsync(admin, UnhappyRule);

        using var streamClient = Figures.Client(app.BaseUrl);
        streamClient.Timeout = Timeout.InfiniteTimeSpan;
        using var stream = await streamClient.GetAsync("/api/v1/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        stream.EnsureSuccessStatusCode();
        var arrivals = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() => ReadEventsAsync(stream, arrivals, stop.Token));

        // Warm-up: JIT and the first org rows, with load and probes, not measured.
        await RunWithLoadAsync(app.BaseUrl, o, "warm", 3, new ConcurrentDictionary<string, long>());
        Report.Line("| rep | background sent/s | alerts seen | alert latency p50 / p99 / max ms | plain probe round trip p50 / p99 ms | triggering probe round trip p50 / p99 ms |");
        Report.Line("|---|---|---|---|---|---|");
        var all = new List<double>();
        var reps = new List<(double P50, double P99, double Max, double PlainP50, double PlainP99)>();
        for (var rep = 1; rep <= o.Reps; rep++)
        {
            var result = await RunWithLoadAsync(app.BaseUrl, o, $"r{rep}-{Figures.Run()}", o.Seconds, arrivals);
            // Late events: wait up to 2 s for the last triggers' alerts.
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < TimeSpan.FromSeconds(2) && result.Triggers.Keys.Any(k => !arrivals.ContainsKey(k)))
            {
                await Task.Delay(50);
            }
            var latencies = result.Triggers.Where(t => arrivals.ContainsKey(t.Key))
                .Select(t => (arrivals[t.Key] - t.Value) * 1000.0 / Stopwatch.Frequency).OrderBy(x => x).ToList();
            all.AddRange(latencies);
            var plain = result.PlainRoundTrips.Order().ToList();
            var trig = result.TriggerRoundTrips.Order().ToList();
            var row = (Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), latencies.Count == 0 ? double.NaN : latencies[^1], Stats.Percentile(plain, 50), Stats.Percentile(plain, 99));
            reps.Add(row);
            Report.Line($"| {rep} | {Stats.F(result.BackgroundPerSec)} | {latencies.Count} of {result.Triggers.Count} | {Stats.F(row.Item1, 1)} / {Stats.F(row.Item2, 1)} / {Stats.F(row.Item3, 1)} | " +
                $"{Stats.F(row.Item4, 1)} / {Stats.F(row.Item5, 1)} | {Stats.F(Stats.Percentile(trig, 50), 1)} / {Stats.F(Stats.Percentile(trig, 99), 1)} |");
        }
        all.Sort();
        var p99 = Stats.Median(reps.Select(r => r.P99));
        Report.Line($"| **median** | | | **{Stats.F(Stats.Median(reps.Select(r => r.P50)), 1)} / {Stats.F(p99, 1)} / {Stats.F(reps.Max(r => r.Max), 1)}** (max of all) | {Stats.F(Stats.Median(reps.Select(r => r.PlainP50)), 1)} / {Stats.F(Stats.Median(reps.Select(r => r.PlainP99)), 1)} | |");
        Report.Line();
        Report.Line($"All {all.Count} alerts pooled: p50 {Stats.F(Stats.Percentile(all, 50), 1)} ms, p99 {Stats.F(Stats.Percentile(all, 99), 1)} ms, max {Stats.F(all.Count == 0 ? double.NaN : all[^1], 1)} ms; " +
            $"{all.Count(x => x < 0)} arrived before the HTTP response was read. Target p99 < 50 ms: **{(p99 < 50 ? "met" : "not met")}**. Server VmHWM {Stats.F(app.PeakRssMiB())} MiB.");
        Report.Line();
        await stop.CancelAsync();
        stream.Dispose();
        try
        {
            await reader;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or HttpRequestException)
        {
            // The stream was closed on purpose.
        }
    }

    private sealed record LoadResult(Dictionary<string, long> Triggers, List<double> PlainRoundTrips, List<double> TriggerRoundTrips, double BackgroundPerSec);

    /// <summary>Runs the background load for <paramref name="seconds"/> and the probes beside it.</summary>
    private static async Task<LoadResult> RunWithLoadAsync(string baseUrl, Options o, string run, int seconds, ConcurrentDictionary<string, long> arrivals)
    {
        using var load = Figures.Client(baseUrl);
        using var probes = Figures.Client(baseUrl);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var background = Task.Run(() => BackgroundAsync(load, run, o.Rate - o.TriggerRate, stop.Token));
        var triggers = new Dictionary<string, long>(StringComparer.Ordinal);
        var plain = new List<double>();
        var triggering = new List<double>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / o.TriggerRate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }
            var trigger = i % 2 == 0;
            var customer = $"al-{run}-{i}";
            var body = Body($"p-{run}-{i}", customer, trigger ? 1 : 5, i);
            var start = Stopwatch.GetTimestamp();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await probes.PostAsync("/api/v1/responses", content);
            await response.Content.ReadAsByteArrayAsync();
            var acked = Stopwatch.GetTimestamp();
            response.EnsureSuccessStatusCode();
            (trigger ? triggering : plain).Add(Stopwatch.GetElapsedTime(start, acked).TotalMilliseconds);
            if (trigger)
            {
                triggers[customer] = acked;
            }
        }
        var sent = await background;
        return new LoadResult(triggers, plain, triggering, sent / clock.Elapsed.TotalSeconds);
    }

    /// <summary>Open-loop load: <paramref name="rate"/> satisfied responses per second, at most 256 in flight; returns how many were sent.</summary>
    private static async Task<long> BackgroundAsync(HttpClient http, string run, int rate, CancellationToken stop)
    {
        var inFlight = new SemaphoreSlim(256);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        var tasks = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            while (sent < due && inFlight.Wait(0, CancellationToken.None))
            {
                var i = sent++;
                tasks.Add(SendAsync(i));
            }
            await Task.Delay(2, CancellationToken.None);
            tasks.RemoveAll(t => t.IsCompleted);
        }
        await Task.WhenAll(tasks);
        return sent;

        async Task SendAsync(long i)
        {
            try
            {
                using var content = new ByteArrayContent(Body($"bg-{run}-{i}", $"bg-cust-{i % 5000}", 4 + (int)(i % 2), i));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync("/api/v1/responses", content, CancellationToken.None);
                await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
                if (!response.IsSuccessStatusCode)
                {
                    Report.Note($"background request answered {(int)response.StatusCode}");
                }
            }
            finally
            {
                inFlight.Release();
            }
        }
    }

    private static byte[] Body(string externalId, string customer, int score, long i)
    {
        var site = Shape.Sites[(int)(i % 3)];
        using var stream = new MemoryStream(400);
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("externalId", externalId);
            w.WriteStartObject("customer");
            w.WriteString("externalId", customer);
            w.WriteString("email", customer + "@example.com");
            w.WriteEndObject();
            w.WriteString("metric", "csat");
            w.WriteNumber("score", score);
            if (score <= 2)
            {
                w.WriteString("comment", "Waited 40 minutes and nobody could help");
            }
            w.WriteString("respondedAt", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteString("site", site);
            w.WriteString("team", site + "-billing");
            w.WriteString("agent", "agent-" + (i % 100).ToString(CultureInfo.InvariantCulture));
            w.WriteString("channel", Shape.Channels[(int)(i % 8)]);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>Reads the SSE stream and notes when each customer's first alert.created event arrives.</summary>
    private static async Task ReadEventsAsync(HttpResponseMessage stream, ConcurrentDictionary<string, long> arrivals, CancellationToken ct)
    {
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(ct));
        string? type = null;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            var now = Stopwatch.GetTimestamp();
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && type == "alert.created")
            {
                using var json = JsonDocument.Parse(line[6..]);
                if (json.RootElement.TryGetProperty("customer", out var c) && c.GetString() is { } customer)
                {
                    arrivals.TryAdd(customer, now);
                }
            }
        }
    }

    private static async Task PostRuleAsync(HttpClient admin, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await admin.PostAsync("/api/v1/alert-rules", content);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /api/v1/alert-rules: {(int)response.StatusCode} {text}");
        }
    }

    // ---------------------------------------------------------------- (b) throughput with rules
    private static async Task RulesThroughputAsync(Options o)
    {
        Report.Line($"## Ingest throughput with {o.Rules} active alert rules vs none (issue 3)");
        Report.Line();
        Report.Line($"Two servers side by side, each on its own fresh database: A without rules, B with {o.Rules} enabled rules (`AlertFigures.TwentyRules` in the harness: score, NPS category, " +
            $"sentiment, signals, comment text, tier, channel, site, team, agent and root-cause conditions; some match the load's records). wrk -t1 -c{o.Connections} -d{o.Seconds}s " +
            "-s bench/scripts/responses.lua on one, then the other, the order alternating between repetitions.");
        Report.Line();
        var dbA = Path.Combine(o.Work, "rules-none.db");
        var dbB = Path.Combine(o.Work, "rules-many.db");
        Figures.Fresh(dbA);
        Figures.Fresh(dbB);
        var script = Path.Combine(o.Scripts, "responses.lua");
        await using var a = await ServerProcess.StartAsync(o.Closeloop, 5207, Figures.DbArgs(dbA), Figures.Env, Path.Combine(o.Work, "closeloop-rules-none.log"));
        await using var b = await ServerProcess.StartAsync(o.Closeloop, 5208, Figures.DbArgs(dbB), Figures.Env, Path.Combine(o.Work, "closeloop-rules-many.log"));
        using (var admin = Figures.Client(b.BaseUrl))
        {
            for (var i = 0; i < o.Rules; i++)
            {
                var when = TwentyRules[i % TwentyRules.Length];
                await PostRuleAsync(admin, $$"""{"name":"rule {{i + 1}}","enabled":true,"when":{{when}},"owner":{"kind":"pool","name":"recovery"},"deadline":"PT4H","clock":"24x7"}""");
            }
        }
        await Wrk.RunAsync(a.BaseUrl, script, 1, o.Connections, 3, new Dictionary<string, string> { ["RUN"] = "warm" + Figures.Run() });
        await Wrk.RunAsync(b.BaseUrl, script, 1, o.Connections, 3, new Dictionary<string, string> { ["RUN"] = "warm" + Figures.Run() });
        Report.Line("| rep | order | no rules responses/s | p50 / p99 ms | with rules responses/s | p50 / p99 ms | non-2xx | ratio |");
        Report.Line("|---|---|---|---|---|---|---|---|");
        var rows = new List<(WrkResult A, WrkResult B)>();
        for (var rep = 1; rep <= o.Reps; rep++)
        {
            WrkResult ra, rb;
            if (rep % 2 == 1)
            {
                ra = await Wrk.RunAsync(a.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "a" + rep + "-" + Figures.Run() });
                rb = await Wrk.RunAsync(b.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "b" + rep + "-" + Figures.Run() });
            }
            else
            {
                rb = await Wrk.RunAsync(b.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "b" + rep + "-" + Figures.Run() });
                ra = await Wrk.RunAsync(a.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "a" + rep + "-" + Figures.Run() });
            }
            rows.Add((ra, rb));
            Report.Line($"| {rep} | {(rep % 2 == 1 ? "A, B" : "B, A")} | {Stats.F(ra.RequestsPerSec)} | {Stats.F(ra.P50Ms, 2)} / {Stats.F(ra.P99Ms, 2)} | {Stats.F(rb.RequestsPerSec)} | " +
                $"{Stats.F(rb.P50Ms, 2)} / {Stats.F(rb.P99Ms, 2)} | {ra.Non2xx + rb.Non2xx} | {rb.RequestsPerSec / ra.RequestsPerSec:0.00} |");
        }
        var ratio = Stats.Median(rows.Select(r => r.B.RequestsPerSec / r.A.RequestsPerSec));
        Report.Line($"| **median** | | {Stats.F(Stats.Median(rows.Select(r => r.A.RequestsPerSec)))} | | {Stats.F(Stats.Median(rows.Select(r => r.B.RequestsPerSec)))} | | | **{ratio:0.00}** |");
        Report.Line();
        var responses = RawSqlite.Count(dbB, "responses");
        var alerts = RawSqlite.Count(dbB, "alerts");
        var actions = RawSqlite.Count(dbB, "alert_actions");
        Report.Line($"Target ≥ 0.80: **{(ratio >= 0.8 ? "met" : "not met")}** ({ratio:0.00}). With rules: {responses:N0} responses raised {alerts:N0} alerts ({actions:N0} alert log entries); " +
            $"VmHWM A {Stats.F(a.PeakRssMiB())} MiB, B {Stats.F(b.PeakRssMiB())} MiB.");
        Report.Line();
    }
}
