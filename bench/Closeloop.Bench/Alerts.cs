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
         "owner": {"kind": "headOfService"}, "deadline": "PT2H", "clock": "24x7"}
        """;

    /// <summary>
    /// Twenty rules of the kinds a contact centre writes. Against bench/scripts/responses.lua (csat 1–5 evenly, one
    /// comment, 8 channels, 3 sites, 100 agents) the first matches every record with csat ≤ 2 (40 %) and several others
    /// match some of those same records; the rest are evaluated and do not match.
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
        await RunWithLoadAsync(app.BaseUrl, o, "warm", o.Warmup, new ConcurrentDictionary<string, long>());
        Report.Line("| rep | background sent/s | alerts seen | alert latency from ack p50 / p99 / max ms | plain probe round trip p50 / p99 ms | triggering probe round trip p50 / p99 ms | from send to event p50 / p99 / max ms |");
        Report.Line("|---|---|---|---|---|---|---|");
        var all = new List<double>();
        var allFromSend = new List<double>();
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
            var fromSend = result.Sent.Where(t => arrivals.ContainsKey(t.Key)).Select(t => (arrivals[t.Key] - t.Value) * 1000.0 / Stopwatch.Frequency).OrderBy(x => x).ToList();
            allFromSend.AddRange(fromSend);
            var plain = result.PlainRoundTrips.Order().ToList();
            var trig = result.TriggerRoundTrips.Order().ToList();
            var row = (Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), latencies.Count == 0 ? double.NaN : latencies[^1], Stats.Percentile(plain, 50), Stats.Percentile(plain, 99));
            reps.Add(row);
            Report.Line($"| {rep} | {Stats.F(result.BackgroundPerSec)} | {latencies.Count} of {result.Triggers.Count} | {Stats.F(row.Item1, 1)} / {Stats.F(row.Item2, 1)} / {Stats.F(row.Item3, 1)} | " +
                $"{Stats.F(row.Item4, 1)} / {Stats.F(row.Item5, 1)} | {Stats.F(Stats.Percentile(trig, 50), 1)} / {Stats.F(Stats.Percentile(trig, 99), 1)} | " +
                $"{Stats.F(Stats.Percentile(fromSend, 50), 1)} / {Stats.F(Stats.Percentile(fromSend, 99), 1)} / {Stats.F(fromSend.Count == 0 ? double.NaN : fromSend[^1], 1)} |");
        }
        all.Sort();
        allFromSend.Sort();
        var p99 = Stats.Median(reps.Select(r => r.P99));
        Report.Line($"| **median** | | | **{Stats.F(Stats.Median(reps.Select(r => r.P50)), 1)} / {Stats.F(p99, 1)} / {Stats.F(reps.Max(r => r.Max), 1)}** (max of all) | {Stats.F(Stats.Median(reps.Select(r => r.PlainP50)), 1)} / {Stats.F(Stats.Median(reps.Select(r => r.PlainP99)), 1)} | | |");
        Report.Line();
        Report.Line($"All {all.Count} alerts pooled: p50 {Stats.F(Stats.Percentile(all, 50), 1)} ms, p99 {Stats.F(Stats.Percentile(all, 99), 1)} ms, max {Stats.F(all.Count == 0 ? double.NaN : all[^1], 1)} ms; " +
            $"{all.Count(x => x < 0)} arrived before the HTTP response was read. From sending the triggering request to the event, pooled: p50 {Stats.F(Stats.Percentile(allFromSend, 50), 1)} ms, " +
            $"p99 {Stats.F(Stats.Percentile(allFromSend, 99), 1)} ms, max {Stats.F(allFromSend.Count == 0 ? double.NaN : allFromSend[^1], 1)} ms. Target p99 < 50 ms: **{(p99 < 50 ? "met" : "not met")}**. Server VmHWM {Stats.F(app.PeakRssMiB())} MiB.");
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

    private sealed record LoadResult(Dictionary<string, long> Triggers, Dictionary<string, long> Sent, List<double> PlainRoundTrips, List<double> TriggerRoundTrips, double BackgroundPerSec);

    /// <summary>Runs the background load for <paramref name="seconds"/> and the probes beside it.</summary>
    private static async Task<LoadResult> RunWithLoadAsync(string baseUrl, Options o, string run, int seconds, ConcurrentDictionary<string, long> arrivals)
    {
        using var load = Figures.Client(baseUrl);
        using var probes = Figures.Client(baseUrl);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var background = Task.Run(() => BackgroundAsync(load, run, o.Rate - o.TriggerRate, stop.Token));
        var triggers = new Dictionary<string, long>(StringComparer.Ordinal);
        var sentAt = new Dictionary<string, long>(StringComparer.Ordinal);
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
                sentAt[customer] = start;
            }
        }
        var sent = await background;
        return new LoadResult(triggers, sentAt, plain, triggering, sent / clock.Elapsed.TotalSeconds);
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
        Report.Line($"Three servers side by side, each on its own fresh database: A without rules; B with {o.Rules} enabled rules (`AlertFigures.TwentyRules` in the harness: score, NPS category, " +
            "sentiment, signals, comment text, tier, channel, site, team, agent and root-cause conditions; several match the load's records, so B also raises and updates alerts); " +
            $"C with the same {o.Rules} conditions each AND-ed with `site = west`, which no record has (every rule evaluated, none matches: the cost of evaluation alone). " +
            $"wrk -t1 -c{o.Connections} -d{o.Seconds}s -s bench/scripts/responses.lua on each in turn, the order rotating between repetitions.");
        Report.Line();
        var script = Path.Combine(o.Scripts, "responses.lua");
        var names = new[] { "A", "B", "C" };
        var servers = new List<ServerProcess>();
        try
        {
            for (var s = 0; s < 3; s++)
            {
                var db = Path.Combine(o.Work, $"rules-{names[s]}.db");
                Figures.Fresh(db);
                servers.Add(await ServerProcess.StartAsync(o.Closeloop, 5207 + s * 10, Figures.DbArgs(db), Figures.Env, Path.Combine(o.Work, $"closeloop-rules-{names[s]}.log")));
            }
            for (var s = 1; s < 3; s++)
            {
                using var admin = Figures.Client(servers[s].BaseUrl);
                for (var i = 0; i < o.Rules; i++)
                {
                    var when = TwentyRules[i % TwentyRules.Length];
                    if (s == 2)
                    {
                        when = $$"""{"all":[{{when}},{"field":"site","op":"eq","value":"west"}]}""";
                    }
                    await PostRuleAsync(admin, $$"""{"name":"rule {{i + 1}}","enabled":true,"when":{{when}},"owner":{"kind":"headOfService"},"deadline":"PT4H","clock":"24x7"}""");
                }
            }
            foreach (var server in servers)
            {
                await Wrk.RunAsync(server.BaseUrl, script, 1, o.Connections, o.Warmup, new Dictionary<string, string> { ["RUN"] = "warm" + Figures.Run() });
            }
            Report.Line("| rep | order | A: no rules, responses/s (p50 / p99 ms) | B: 20 rules, some match | C: 20 rules, none match | B / A | C / A |");
            Report.Line("|---|---|---|---|---|---|---|");
            var rows = new List<WrkResult[]>();
            for (var rep = 1; rep <= o.Reps; rep++)
            {
                var order = Enumerable.Range(0, 3).Select(k => (k + rep - 1) % 3).ToArray();
                var results = new WrkResult[3];
                foreach (var s in order)
                {
                    results[s] = await Wrk.RunAsync(servers[s].BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = names[s] + rep + "-" + Figures.Run() });
                    if (results[s].Non2xx > 0)
                    {
                        Report.Note($"{names[s]} rep {rep}: {results[s].Non2xx} non-2xx answers");
                    }
                }
                rows.Add(results);
                string Cell(WrkResult r) => $"{Stats.F(r.RequestsPerSec)} ({Stats.F(r.P50Ms, 1)} / {Stats.F(r.P99Ms, 1)})";
                Report.Line($"| {rep} | {string.Join(", ", order.Select(k => names[k]))} | {Cell(results[0])} | {Cell(results[1])} | {Cell(results[2])} | " +
                    $"{results[1].RequestsPerSec / results[0].RequestsPerSec:0.00} | {results[2].RequestsPerSec / results[0].RequestsPerSec:0.00} |");
            }
            var ratioB = Stats.Median(rows.Select(r => r[1].RequestsPerSec / r[0].RequestsPerSec));
            var ratioC = Stats.Median(rows.Select(r => r[2].RequestsPerSec / r[0].RequestsPerSec));
            Report.Line($"| **median** | | {Stats.F(Stats.Median(rows.Select(r => r[0].RequestsPerSec)))} | {Stats.F(Stats.Median(rows.Select(r => r[1].RequestsPerSec)))} | " +
                $"{Stats.F(Stats.Median(rows.Select(r => r[2].RequestsPerSec)))} | **{ratioB:0.00}** | **{ratioC:0.00}** |");
            Report.Line();
            var dbB = Path.Combine(o.Work, "rules-B.db");
            var dbC = Path.Combine(o.Work, "rules-C.db");
            Report.Line($"Target ≥ 0.80: B **{(ratioB >= 0.8 ? "met" : "not met")}** ({ratioB:0.00}), C **{(ratioC >= 0.8 ? "met" : "not met")}** ({ratioC:0.00}). " +
                $"B: {RawSqlite.Count(dbB, "responses"):N0} responses raised {RawSqlite.Count(dbB, "alerts"):N0} alerts and {RawSqlite.Count(dbB, "alert_actions"):N0} alert log entries " +
                $"(one open alert per customer and rule; the load has 5,000 customers, so later matches update the open alert); C: {RawSqlite.Count(dbC, "alerts"):N0} alerts. " +
                $"VmHWM A {Stats.F(servers[0].PeakRssMiB())} MiB, B {Stats.F(servers[1].PeakRssMiB())} MiB, C {Stats.F(servers[2].PeakRssMiB())} MiB.");
            Report.Line();
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }
}
