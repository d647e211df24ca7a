using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Closeloop.Bench;

/// <summary>
/// Issue 5 (insights): GET /api/v1/insights/pareto, /trend and /drivers over the databases of the metrics figure,
/// beside the same SQL run straight on the file and the raw full GROUP BY scan.
/// </summary>
public static class InsightFigures
{
    private const long Nov1 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
    private const long Dec1 = 1_796_083_200_000; // 2026-12-01T00:00:00Z
    private const long Jan1 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    private const long Jan1Next = 1_798_761_600_000; // 2027-01-01T00:00:00Z

    /// <summary>The report, its query string, and the SQL InsightReports runs for it (copied from src/Closeloop/Insights/InsightReports.cs).</summary>
    private static readonly (string Name, string Path, string Sql, long A, long B)[] Queries =
    [
        ("pareto, year", "/api/v1/insights/pareto?from=2026-01-01&to=2026-12-31",
            "SELECT 'all', root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY root_cause", Jan1, Jan1Next),
        ("pareto by site, year", "/api/v1/insights/pareto?by=site&from=2026-01-01&to=2026-12-31",
            "SELECT site_id, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY site_id, root_cause", Jan1, Jan1Next),
        ("pareto by team, year", "/api/v1/insights/pareto?by=team&from=2026-01-01&to=2026-12-31",
            "SELECT team_id, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY team_id, root_cause", Jan1, Jan1Next),
        ("pareto by agent, year", "/api/v1/insights/pareto?by=agent&from=2026-01-01&to=2026-12-31",
            "SELECT agent_id, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY agent_id, root_cause", Jan1, Jan1Next),
        ("pareto by channel, year", "/api/v1/insights/pareto?by=channel&from=2026-01-01&to=2026-12-31",
            "SELECT channel, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY channel, root_cause", Jan1, Jan1Next),
        ("trend, year", "/api/v1/insights/trend?from=2026-01-01&to=2026-12-31",
            "SELECT responded_at / 86400000, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY responded_at / 86400000, root_cause", Jan1, Jan1Next),
        ("drivers csat, year", "/api/v1/insights/drivers?metric=csat&from=2026-01-01&to=2026-12-31",
            "SELECT COALESCE(root_cause, ''), COUNT(*), SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END), 0 FROM responses WHERE metric = 'csat' AND responded_at >= @a AND responded_at < @b GROUP BY COALESCE(root_cause, '')", Jan1, Jan1Next),
        ("pareto, November", "/api/v1/insights/pareto?from=2026-11-01&to=2026-11-30",
            "SELECT 'all', root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY root_cause", Nov1, Dec1),
        ("trend, November", "/api/v1/insights/trend?from=2026-11-01&to=2026-11-30",
            "SELECT responded_at / 86400000, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b GROUP BY responded_at / 86400000, root_cause", Nov1, Dec1),
        ("drivers csat, November", "/api/v1/insights/drivers?metric=csat&from=2026-11-01&to=2026-11-30",
            "SELECT COALESCE(root_cause, ''), COUNT(*), SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END), 0 FROM responses WHERE metric = 'csat' AND responded_at >= @a AND responded_at < @b GROUP BY COALESCE(root_cause, '')", Nov1, Dec1),
    ];

    public static async Task RunAsync(Options o)
    {
        Report.Line("## Insights reports over 1 and 10 million responses (issue 5)");
        Report.Line();
        Report.Line($"The databases of the metrics figure (`metrics-SIZE.db`; 1M through the batch API, so the product analysed every comment; 10M by the direct seeder, " +
            $"which stores for each comment the sentiment, signals and root cause the product computed for it). About a third of the responses carry a comment and so a root cause. " +
            $"Latency: {o.Requests} sequential requests per report per repetition (HttpClient, keep-alive) after {Math.Clamp(o.Requests / 4, 1, 5)} warm-up requests. Baselines, run just before each repetition: " +
            "the report's own SQL run straight on the file with Microsoft.Data.Sqlite (median of 3; the floor for that report), and the raw full `GROUP BY site_id, metric` scan of the metrics figure.");
        Report.Line();
        foreach (var size in o.Sizes)
        {
            var db = await Figures.MetricsDbAsync(o, size);
            await using var app = await ServerProcess.StartAsync(o.Closeloop, 5210, Figures.DbArgs(db), Figures.Env, Path.Combine(o.Work, $"closeloop-insights-{size}.log"));
            using var http = Figures.Client(app.BaseUrl);
            var warmUp = Math.Clamp(o.Requests / 4, 1, 5);
            foreach (var q in Queries)
            {
                for (var i = 0; i < warmUp; i++)
                {
                    await GetAsync(http, q.Path);
                }
            }
            var scans = new List<double>();
            var raw = Queries.ToDictionary(q => q.Name, _ => new List<double>());
            var api = Queries.ToDictionary(q => q.Name, _ => new List<(double P50, double P99)>());
            for (var rep = 1; rep <= o.Reps; rep++)
            {
                scans.Add(RawSqlite.GroupByScan(db).Ms);
                foreach (var q in Queries)
                {
                    raw[q.Name].Add(Stats.Median(Enumerable.Range(0, 3).Select(_ => RawQuery(db, q.Sql, q.A, q.B))));
                    var times = new List<double>(o.Requests);
                    for (var i = 0; i < o.Requests; i++)
                    {
                        times.Add(await GetAsync(http, q.Path));
                    }
                    times.Sort();
                    api[q.Name].Add((Stats.Percentile(times, 50), Stats.Percentile(times, 99)));
                }
            }
            var commented = Commented(db);
            var scan = Stats.Median(scans);
            Report.Line($"### {size:N0} responses ({commented:N0} with a root cause)");
            Report.Line();
            Report.Line($"Raw full GROUP BY scan: median **{scan:N0} ms**.");
            Report.Line();
            Report.Line("| report | API p50 ms | API p99 ms | same SQL raw, ms | API p50 / raw SQL | API p50 / full scan | target p99 < 200 ms |");
            Report.Line("|---|---|---|---|---|---|---|");
            foreach (var q in Queries)
            {
                var p50 = Stats.Median(api[q.Name].Select(l => l.P50));
                var p99 = Stats.Median(api[q.Name].Select(l => l.P99));
                var rawMs = Stats.Median(raw[q.Name]);
                Report.Line($"| {q.Name} | {p50:N1} | {p99:N1} | {rawMs:N1} | {p50 / rawMs:0.00} | {p50 / scan:0.000} | {(p99 < 200 ? "met" : "**not met**")} |");
            }
            Report.Line();
            Report.Line($"Server peak RSS (VmHWM): **{Stats.F(app.PeakRssMiB())} MiB**.");
            Report.Line();
        }
    }

    private static async Task<double> GetAsync(HttpClient http, string path)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.GetAsync(path);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var ms = watch.Elapsed.TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {System.Text.Encoding.UTF8.GetString(bytes)}");
        }
        return ms;
    }

    private static double RawQuery(string db, string sql, long a, long b)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@a", a);
        command.Parameters.AddWithValue("@b", b);
        var watch = Stopwatch.StartNew();
        using var reader = command.ExecuteReader();
        var rows = 0;
        while (reader.Read())
        {
            rows++;
        }
        return watch.Elapsed.TotalMilliseconds;
    }

    private static long Commented(string db)
    {
        using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM responses WHERE root_cause IS NOT NULL";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
