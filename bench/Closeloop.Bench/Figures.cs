using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Closeloop.Bench;

public sealed record Options(string Verb, string Closeloop, string Raw, string Work, int Reps, int Seconds, int Connections, int BatchRows,
    int ImportRows, long[] Sizes, long ApiSeedMax, int Requests, bool Reuse, int Clients, string Scripts,
    int Rate, int TriggerRate, int Rules, string[] Pages, long ConsoleRows, int PageRequests, int Warmup, string Postgres)
{
    /// <summary>The verbs; "all" runs every one but postgres, which needs a PostgreSQL server (--postgres).</summary>
    public static readonly string[] Verbs = ["ingest", "batch", "metrics", "alerts", "insights", "console", "postgres", "all"];

    /// <summary>The PostgreSQL server the postgres verb creates its scratch databases on, unless --postgres or CLOSELOOP_BENCH_POSTGRES names another.</summary>
    public const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres";

    /// <summary>The console pages measured unless --pages names others; {customer} and {alert} are filled from the database.</summary>
    public static readonly string[] DefaultPages = ["/alerts", "/alerts/{alert}", "/insights", "/insights?from=2026-01-01&to=2026-12-31", "/customers/{customer}", "/login"];

    public static Options Parse(string[] args)
    {
        var repo = FindRepo();
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "all";
        if (!Verbs.Contains(verb))
        {
            throw new ArgumentException("verb must be one of " + string.Join(", ", Verbs));
        }
        return new Options(verb,
            Path.GetFullPath(Get("closeloop", Path.Combine(repo, "src/Closeloop/bin/Release/net10.0/Closeloop.dll"))),
            Path.GetFullPath(Get("raw", Path.Combine(repo, "bench/RawKestrel/bin/Release/net10.0/RawKestrel.dll"))),
            Path.GetFullPath(Get("work", "/tmp/closeloop-bench")),
            int.Parse(Get("reps", "3"), CultureInfo.InvariantCulture),
            int.Parse(Get("seconds", "15"), CultureInfo.InvariantCulture),
            int.Parse(Get("connections", "32"), CultureInfo.InvariantCulture),
            int.Parse(Get("batch-rows", "200000"), CultureInfo.InvariantCulture),
            int.Parse(Get("import-rows", "200000"), CultureInfo.InvariantCulture),
            Get("sizes", "1000000,10000000").Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            long.Parse(Get("api-seed-max", "1000000"), CultureInfo.InvariantCulture),
            int.Parse(Get("requests", "200"), CultureInfo.InvariantCulture),
            args.Contains("--reuse"),
            int.Parse(Get("clients", "4"), CultureInfo.InvariantCulture),
            Path.Combine(repo, "bench/scripts"),
            int.Parse(Get("rate", "1000"), CultureInfo.InvariantCulture),
            int.Parse(Get("trigger-rate", "10"), CultureInfo.InvariantCulture),
            int.Parse(Get("rules", "20"), CultureInfo.InvariantCulture),
            Get("pages", string.Join(",", DefaultPages)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            long.Parse(Get("console-rows", "1000000"), CultureInfo.InvariantCulture),
            int.Parse(Get("page-requests", "20"), CultureInfo.InvariantCulture),
            // Seconds of load before measuring: on a busy 2-core machine tiered compilation of the server takes tens of
            // seconds (measured: JIT was 9–22 % of the server's CPU after a 3-second warm-up, under 1 % after 30 s).
            int.Parse(Get("warmup", "30"), CultureInfo.InvariantCulture),
            // A base connection string without Database: the postgres verb adds a scratch database's name to it.
            Get("postgres", Environment.GetEnvironmentVariable("CLOSELOOP_BENCH_POSTGRES") is { Length: > 0 } env ? env : DefaultPostgres));
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Closeloop.slnx")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}

public static class Machine
{
    public static string Cpu() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    public static double MemoryGiB() => ServerProcess.ProcStatus(Environment.ProcessId, "VmRSS") >= 0
        ? long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0
        : double.NaN;
}

public static class Figures
{
    internal const string Key = "bench-key";
    internal static readonly Dictionary<string, string> Env = new() { ["CLOSELOOP_ADMIN_API_KEY"] = Key };

    internal static string[] DbArgs(string path) => [$"--ConnectionStrings:Closeloop=Data Source={path}"];

    internal static void Fresh(string path)
    {
        foreach (var f in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(f);
        }
    }

    internal static string Run() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- figure 1
    public static async Task IngestAsync(Options o)
    {
        Report.Line("## 1. Single ingest over HTTP (POST /api/v1/responses, durable, SQLite)");
        Report.Line();
        Report.Line($"wrk -t1 -c{o.Connections} -d{o.Seconds}s --latency -s bench/scripts/responses.lua after {o.Warmup} s of the same load on each server, each record with a unique externalId; in each repetition, back to back with the same tool and settings: RawKestrel (same body, System.Text.Json, 200), RawKestrel --durable (the same, then the record's fields inserted by one writer with group commit into a table shaped like `responses`, WAL, synchronous=FULL, 201), Closeloop.");
        Report.Line();
        var db = Path.Combine(o.Work, "ingest.db");
        Fresh(db);
        var script = Path.Combine(o.Scripts, "responses.lua");
        await using var raw = await ServerProcess.StartAsync(o.Raw, 5201, [], null, Path.Combine(o.Work, "raw.log"));
        await using var durable = await ServerProcess.StartAsync(o.Raw, 5203, ["--durable", Path.Combine(o.Work, "raw-durable.db")], null, Path.Combine(o.Work, "raw-durable.log"));
        await using var app = await ServerProcess.StartAsync(o.Closeloop, 5202, DbArgs(db), Env, Path.Combine(o.Work, "closeloop-ingest.log"));
        // Warm-up: JIT, tiered compilation, connection set-up, the first org rows.
        foreach (var server in new[] { raw, durable, app })
        {
            await Wrk.RunAsync(server.BaseUrl, script, 1, o.Connections, o.Warmup, new Dictionary<string, string> { ["RUN"] = "warm" + Run() });
        }
        Report.Line("| rep | raw req/s | raw p50 / p99 ms | raw durable req/s | raw durable p50 / p99 ms | Closeloop responses/s | Closeloop p50 / p99 ms | non-2xx | ratio to raw | ratio to raw durable |");
        Report.Line("|---|---|---|---|---|---|---|---|---|---|");
        var rows = new List<(WrkResult Raw, WrkResult Durable, WrkResult App)>();
        for (var rep = 1; rep <= o.Reps; rep++)
        {
            var r = await Wrk.RunAsync(raw.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "raw" + Run() });
            var d = await Wrk.RunAsync(durable.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "d" + rep + "-" + Run() });
            var a = await Wrk.RunAsync(app.BaseUrl, script, 1, o.Connections, o.Seconds, new Dictionary<string, string> { ["RUN"] = "r" + rep + "-" + Run() });
            rows.Add((r, d, a));
            Report.Line($"| {rep} | {Stats.F(r.RequestsPerSec)} | {Stats.F(r.P50Ms, 2)} / {Stats.F(r.P99Ms, 2)} | {Stats.F(d.RequestsPerSec)} | {Stats.F(d.P50Ms, 2)} / {Stats.F(d.P99Ms, 2)} | {Stats.F(a.RequestsPerSec)} | {Stats.F(a.P50Ms, 2)} / {Stats.F(a.P99Ms, 2)} | {a.Non2xx + d.Non2xx} | {a.RequestsPerSec / r.RequestsPerSec:0.00} | {a.RequestsPerSec / d.RequestsPerSec:0.00} |");
        }
        string Median(Func<(WrkResult Raw, WrkResult Durable, WrkResult App), double> f, int digits = 0) => Stats.F(Stats.Median(rows.Select(f)), digits);
        var ratio = Stats.Median(rows.Select(x => x.App.RequestsPerSec / x.Raw.RequestsPerSec));
        var ceiling = Stats.Median(rows.Select(x => x.Durable.RequestsPerSec / x.Raw.RequestsPerSec));
        var ofDurable = Stats.Median(rows.Select(x => x.App.RequestsPerSec / x.Durable.RequestsPerSec));
        Report.Line($"| **median** | {Median(x => x.Raw.RequestsPerSec)} | {Median(x => x.Raw.P50Ms, 2)} / {Median(x => x.Raw.P99Ms, 2)} | {Median(x => x.Durable.RequestsPerSec)} | {Median(x => x.Durable.P50Ms, 2)} / {Median(x => x.Durable.P99Ms, 2)} | {Median(x => x.App.RequestsPerSec)} | {Median(x => x.App.P50Ms, 2)} / {Median(x => x.App.P99Ms, 2)} | | **{ratio:0.00}** | **{ofDurable:0.00}** |");
        Report.Line();
        Report.Line($"Target ≥ 0.50 of raw: **{(ratio >= 0.5 ? "met" : "not met")}** ({ratio:0.00}). The raw durable endpoint itself reaches {ceiling:0.00} of raw (median of the repetitions' ratios). Closeloop peak RSS (VmHWM) {Stats.F(app.PeakRssMiB())} MiB; rows stored: {RawSqlite.Count(db, "responses"):N0}.");
        Report.Line();
    }

    // ---------------------------------------------------------------- figure 2
    public static async Task BatchAsync(Options o)
    {
        Report.Line("## 2. Batch ingest and CSV import (rows/s, durable, SQLite)");
        Report.Line();
        Report.Line($"Per repetition, back to back: raw Microsoft.Data.Sqlite prepared-insert loop ({o.BatchRows:N0} rows, WAL, synchronous=FULL, 10,000 rows per transaction, responses' columns + unique external_id); POST /api/v1/responses/batch ({o.BatchRows / 1000} requests of 1,000 records, {o.Clients} concurrent clients, fresh database, after {o.Warmup} s of warm-up batches); `closeloop import responses` of a {o.ImportRows:N0}-row CSV into a fresh database (wall time of the whole command, start-up and migration included).");
        Report.Line();
        var csv = Path.Combine(o.Work, $"responses-{o.ImportRows}.csv");
        if (!File.Exists(csv))
        {
            Shape.WriteCsv(csv, "csv-", o.ImportRows);
        }
        var bodies = Enumerable.Range(0, o.BatchRows / 1000).Select(b => (long)b * 1000).ToArray();
        Report.Line("| rep | raw inserts rows/s | raw, all 4 indexes rows/s | raw, bound by position rows/s | batch API rows/s | batch / raw | CSV import rows/s | import / raw |");
        Report.Line("|---|---|---|---|---|---|---|---|");
        var results = new List<(double Raw, double Raw4, double RawPcl, double Batch, double Import)>();
        for (var rep = 1; rep <= o.Reps; rep++)
        {
            var raw = RawSqlite.InsertLoop(Path.Combine(o.Work, "raw-insert.db"), "raw-", o.BatchRows, allIndexes: false);
            var raw4 = RawSqlite.InsertLoop(Path.Combine(o.Work, "raw-insert4.db"), "raw-", o.BatchRows, allIndexes: true);
            // For information: the baseline's loop without Microsoft.Data.Sqlite's per-execution work, as the writer runs.
            var rawPcl = RawSqlite.InsertLoop(Path.Combine(o.Work, "raw-insert-pcl.db"), "raw-", o.BatchRows, allIndexes: false, byPosition: true);

            var db = Path.Combine(o.Work, "batch.db");
            Fresh(db);
            double batch;
            await using (var app = await ServerProcess.StartAsync(o.Closeloop, 5203, DbArgs(db), Env, Path.Combine(o.Work, "closeloop-batch.log")))
            {
                // Warm-up on other ids, so the timed batches are all new records.
                var warm = Stopwatch.StartNew();
                for (long first = 0; warm.Elapsed < TimeSpan.FromSeconds(o.Warmup); first += 4000)
                {
                    await PostBatchesAsync(app.BaseUrl, "warm-", 10_000_000, [first, first + 1000, first + 2000, first + 3000], o.Clients);
                }
                var prefix = $"b{rep}-";
                var prebuilt = bodies.Select(first => Shape.Batch(prefix, first, 1000, o.BatchRows)).ToArray();
                var watch = Stopwatch.StartNew();
                var created = await PostAsync(app.BaseUrl, "/api/v1/responses/batch", prebuilt, o.Clients);
                batch = created / watch.Elapsed.TotalSeconds;
                if (created != o.BatchRows)
                {
                    Report.Note($"batch API created {created} of {o.BatchRows}");
                }
            }

            var importDb = Path.Combine(o.Work, "import.db");
            Fresh(importDb);
            var importWatch = Stopwatch.StartNew();
            var output = await Shell.RunAsync("dotnet", [o.Closeloop, "import", "responses", csv, .. DbArgs(importDb)], Env, Path.GetDirectoryName(o.Closeloop));
            var import = o.ImportRows / importWatch.Elapsed.TotalSeconds;
            Report.Note("import: " + output.Trim().Split('\n')[^1]);
            results.Add((raw, raw4, rawPcl, batch, import));
            Report.Line($"| {rep} | {Stats.F(raw)} | {Stats.F(raw4)} | {Stats.F(rawPcl)} | {Stats.F(batch)} | {batch / raw:0.00} | {Stats.F(import)} | {import / raw:0.00} |");
        }
        var batchRatio = Stats.Median(results.Select(r => r.Batch / r.Raw));
        var importRatio = Stats.Median(results.Select(r => r.Import / r.Raw));
        Report.Line($"| **median** | {Stats.F(Stats.Median(results.Select(r => r.Raw)))} | {Stats.F(Stats.Median(results.Select(r => r.Raw4)))} | {Stats.F(Stats.Median(results.Select(r => r.RawPcl)))} | {Stats.F(Stats.Median(results.Select(r => r.Batch)))} | **{batchRatio:0.00}** | {Stats.F(Stats.Median(results.Select(r => r.Import)))} | **{importRatio:0.00}** |");
        Report.Line();
        Report.Line($"Target ≥ 0.50 of raw: batch **{(batchRatio >= 0.5 ? "met" : "not met")}** ({batchRatio:0.00}), CSV import **{(importRatio >= 0.5 ? "met" : "not met")}** ({importRatio:0.00}).");
        Report.Line();
    }

    internal static HttpClient Client(string baseUrl) => new(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(30) })
    {
        BaseAddress = new Uri(baseUrl),
        Timeout = TimeSpan.FromMinutes(5),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", Key) },
    };

    private static Task<long> PostBatchesAsync(string baseUrl, string prefix, long total, long[] firsts, int clients) =>
        PostAsync(baseUrl, "/api/v1/responses/batch", firsts.Select(f => Shape.Batch(prefix, f, 1000, total)).ToArray(), clients);

    /// <summary>Posts the bodies with <paramref name="clients"/> concurrent clients; returns the number of records created.</summary>
    internal static async Task<long> PostAsync(string baseUrl, string path, byte[][] bodies, int clients)
    {
        using var http = Client(baseUrl);
        var next = -1;
        long created = 0;
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < bodies.Length)
            {
                using var content = new ByteArrayContent(bodies[i]);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync(path, content);
                var text = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"batch {i}: {(int)response.StatusCode} {text[..Math.Min(400, text.Length)]}");
                }
                using var json = JsonDocument.Parse(text);
                Interlocked.Add(ref created, json.RootElement.GetProperty("created").GetInt64());
            }
        }
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(Worker)));
        return created;
    }

    // ---------------------------------------------------------------- figure 3
    private static readonly (string Name, string Query)[] MetricQueries =
    [
        ("year, no groupBy", "from=2026-01-01&to=2026-12-31"),
        ("year, groupBy=site", "from=2026-01-01&to=2026-12-31&groupBy=site"),
        ("year, groupBy=agent", "from=2026-01-01&to=2026-12-31&groupBy=agent"),
        ("year, groupBy=day", "from=2026-01-01&to=2026-12-31&groupBy=day"),
        ("partial days (12:00 to 12:00), no groupBy", "from=2026-03-01T12:00:00Z&to=2026-09-30T12:00:00Z"),
        ("partial days, groupBy=site", "from=2026-03-01T12:00:00Z&to=2026-09-30T12:00:00Z&groupBy=site"),
    ];

    public static async Task MetricsAsync(Options o)
    {
        Report.Line("## 3. GET /api/v1/metrics over 1 and 10 million responses");
        Report.Line();
        Report.Line($"Data: one year (2026), 3 sites, 10 teams, 100 agents, 8 channels, 200,000 customers, csat/nps/ces 5:3:2. Up to {o.ApiSeedMax:N0} responses are seeded through POST /api/v1/responses/batch ({o.Clients} clients); larger databases are migrated by `closeloop migrate` and written by a prepared-insert seeder that also fills response_rollups as the ingest writer does (checked: the API's total n equals COUNT(*)). Latency: {o.Requests} sequential requests per query per repetition (HttpClient, keep-alive), after 20 warm-up requests. Baseline: the raw `SELECT site_id, metric, COUNT(*), SUM(top), SUM(bottom), SUM(score) FROM responses GROUP BY site_id, metric` over the same file with Microsoft.Data.Sqlite, run just before each repetition.");
        Report.Line();
        foreach (var size in o.Sizes)
        {
            var db = await MetricsDbAsync(o, size);
            var fileMiB = new FileInfo(db).Length / 1024.0 / 1024.0;
            await using var app = await ServerProcess.StartAsync(o.Closeloop, 5205, DbArgs(db), Env, Path.Combine(o.Work, $"closeloop-metrics-{size}.log"));
            using var http = Client(app.BaseUrl);
            foreach (var (_, query) in MetricQueries)
            {
                for (var i = 0; i < 20; i++)
                {
                    await GetAsync(http, query);
                }
            }
            var total = await GetAsync(http, MetricQueries[0].Query);
            var n = total.Json.RootElement.GetProperty("total");
            var apiN = n.GetProperty("csat").GetProperty("n").GetInt64() + n.GetProperty("nps").GetProperty("n").GetInt64() + n.GetProperty("ces").GetProperty("n").GetInt64();
            total.Json.Dispose();
            var scans = new List<double>();
            var latencies = MetricQueries.ToDictionary(q => q.Name, _ => new List<(double P50, double P99)>());
            for (var rep = 1; rep <= o.Reps; rep++)
            {
                var (scanMs, scanRows) = RawSqlite.GroupByScan(db);
                scans.Add(scanMs);
                if (scanRows != size)
                {
                    Report.Note($"raw scan counted {scanRows} rows, expected {size}");
                }
                foreach (var (name, query) in MetricQueries)
                {
                    var times = new List<double>(o.Requests);
                    for (var i = 0; i < o.Requests; i++)
                    {
                        var (ms, json) = await GetAsync(http, query);
                        json.Dispose();
                        times.Add(ms);
                    }
                    times.Sort();
                    latencies[name].Add((Stats.Percentile(times, 50), Stats.Percentile(times, 99)));
                }
            }
            var scan = Stats.Median(scans);
            Report.Line($"### {size:N0} responses (database file {fileMiB:N0} MiB; API total n = {apiN:N0}{(apiN == size ? ", equals COUNT(*)" : $", COUNT(*) = {size:N0}: MISMATCH")})");
            Report.Line();
            Report.Line($"Raw GROUP BY site_id, metric scan (baseline): median **{scan:N0} ms** ({string.Join(", ", scans.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))}).");
            Report.Line();
            Report.Line("| query | p50 ms | p99 ms | p50 / raw scan | target p99 < 100 ms |");
            Report.Line("|---|---|---|---|---|");
            foreach (var (name, _) in MetricQueries)
            {
                var p50 = Stats.Median(latencies[name].Select(l => l.P50));
                var p99 = Stats.Median(latencies[name].Select(l => l.P99));
                Report.Line($"| {name} | {p50:N1} | {p99:N1} | {p50 / scan:0.000} | {(p99 < 100 ? "met" : "**not met**")} |");
            }
            Report.Line();
            Report.Line($"Server peak RSS (VmHWM) after seeding-restart, warm-up and {o.Reps * MetricQueries.Length * o.Requests:N0} requests: **{Stats.F(app.PeakRssMiB())} MiB**.");
            Report.Line();
        }
    }

    /// <summary>
    /// The database of <paramref name="size"/> responses that the metrics and insights figures read: up to --api-seed-max
    /// through the batch API (the product fills every column and rollup), above it with the direct seeder, which copies the
    /// text findings (sentiment, signals, root cause) the product computes for each of the shape's comments.
    /// </summary>
    private static readonly HashSet<string> Seeded = new(StringComparer.Ordinal);

    internal static async Task<string> MetricsDbAsync(Options o, long size)
    {
        var db = Path.Combine(o.Work, $"metrics-{size}.db");
        // A database seeded earlier in this process (metrics, then insights) is reused, as is any with --reuse.
        if ((o.Reuse || Seeded.Contains(db)) && File.Exists(db) && RawSqlite.Count(db, "responses") == size)
        {
            return db;
        }
        Fresh(db);
        var watch = Stopwatch.StartNew();
        if (size <= o.ApiSeedMax)
        {
            await using var seeder = await ServerProcess.StartAsync(o.Closeloop, 5204, DbArgs(db), Env, Path.Combine(o.Work, $"closeloop-seed-{size}.log"));
            var firsts = Enumerable.Range(0, (int)(size / 1000)).Select(b => (long)b * 1000).ToArray();
            long created = 0;
            // Build and send in slices, so the bodies of 10M records are never all in memory.
            foreach (var slice in firsts.Chunk(100))
            {
                created += await PostAsync(seeder.BaseUrl, "/api/v1/responses/batch", slice.Select(f => Shape.Batch("m-", f, 1000, size)).ToArray(), o.Clients);
            }
            Report.Note($"seeded {created:N0} responses through the batch API in {watch.Elapsed.TotalSeconds:N0} s ({created / watch.Elapsed.TotalSeconds:N0}/s incl. building the bodies); server VmHWM {Stats.F(seeder.PeakRssMiB())} MiB");
        }
        else
        {
            var findings = await CommentFindingsAsync(o);
            await Shell.RunAsync("dotnet", [o.Closeloop, "migrate", .. DbArgs(db)], Env, Path.GetDirectoryName(o.Closeloop));
            RawSqlite.Seed(db, "m-", size, findings, Report.Note);
        }
        Seeded.Add(db);
        return db;
    }

    /// <summary>What the product stores for each comment of the shape (sentiment, signals, root cause), read back from a scratch database.</summary>
    internal static async Task<Dictionary<string, CommentFindings>> CommentFindingsAsync(Options o)
    {
        var db = Path.Combine(o.Work, "findings.db");
        Fresh(db);
        await using (var app = await ServerProcess.StartAsync(o.Closeloop, 5209, DbArgs(db), Env, Path.Combine(o.Work, "closeloop-findings.log")))
        {
            // The first 3,000 records of the shape hold every comment many times over.
            await PostAsync(app.BaseUrl, "/api/v1/responses/batch", [Shape.Batch("f-", 0, 1000, 3000), Shape.Batch("f-", 1000, 1000, 3000), Shape.Batch("f-", 2000, 1000, 3000)], 1);
        }
        var findings = RawSqlite.Findings(db);
        if (findings.Count != Shape.CommentCount)
        {
            throw new InvalidOperationException($"expected findings for {Shape.CommentCount} comments, read {findings.Count}");
        }
        return findings;
    }

    private static async Task<(double Ms, JsonDocument Json)> GetAsync(HttpClient http, string query)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync("/api/v1/metrics?" + query);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var ms = watch.Elapsed.TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET metrics?{query}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(bytes)}");
        }
        return (ms, JsonDocument.Parse(bytes));
    }
}
