using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

public sealed record CauseCount(string Code, string? Name, string? Department, long Count, double Share, double Cumulative);

public sealed record ParetoGroup(string? Key, long Total, IReadOnlyList<CauseCount> Causes);

public sealed record ParetoReport(string Source, string? By, ParetoGroup Overall, IReadOnlyList<ParetoGroup> Groups);

public sealed record TrendPoint(string Day, string Cause, long Count);

public sealed record Driver(string Code, string? Name, long N, double Share, double? ScoreWith, double? ScoreWithout, double? PointsLost);

public sealed record DriversReport(string Metric, long N, double? Score, IReadOnlyList<Driver> Drivers);

/// <summary>
/// Learning from labelled examples, and the root-cause reports: the Pareto of causes by site, team, agent,
/// channel or queue, each cause's trend, and the drivers (how many points of CSAT or NPS each cause costs).
/// </summary>
public static class InsightsEndpoints
{
    private static readonly string[] ResponseDimensions = ["site", "team", "agent", "channel"];

    public static IEndpointRouteBuilder MapInsights(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/insights").WithTags("Insights");

        group.MapPost("/examples", async Task<IResult> (HttpContext http, CloseloopDb db, TextInsights insights, TimeProvider time, CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.BatchLimit, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    if (document!.RootElement.ValueKind != JsonValueKind.Array)
                    {
                        return Problems.Validation("body", "must be a list of {\"text\": \"...\", \"cause\": \"<code>\"}");
                    }
                    var known = (await db.RootCauses.AsNoTracking().Select(r => r.Code).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var examples = new List<(string, string)>();
                    var i = 0;
                    foreach (var item in document.RootElement.EnumerateArray())
                    {
                        var text = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!.Trim() : null;
                        var cause = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("cause", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()!.Trim().ToLowerInvariant() : null;
                        if (string.IsNullOrEmpty(text) || text.Length > 20_000)
                        {
                            errors[$"[{i}].text"] = ["is required (at most 20,000 characters)"];
                        }
                        if (cause is null || !known.Contains(cause))
                        {
                            errors[$"[{i}].cause"] = ["must be a code from GET /api/v1/root-causes"];
                        }
                        if (text is { Length: > 0 } && cause is not null)
                        {
                            examples.Add((text, cause));
                        }
                        i++;
                    }
                    if (i == 0)
                    {
                        errors["body"] = ["must hold at least one example"];
                    }
                    if (errors.Count > 0)
                    {
                        return Problems.Validation(errors);
                    }
                    await insights.LearnAsync(db, examples, "api", time.GetUtcNow(), ct);
                    return TypedResults.Ok(new { learned = examples.Count, examples = insights.Classifier.ExampleCount });
                }
            })
            .RequireAuthorization(Policies.WorkAlerts)
            .WithName("PostTrainingExamples").WithSummary("Teach the root-cause classifier with labelled examples [{\"text\", \"cause\"}]; it learns at once.");

        group.MapGet("/analyze", (string text, TextInsights insights) =>
                insights.Analyze(text) is { } f
                    ? TypedResults.Ok(Ingest.AnalysisView.From(f.Sentiment, f.SignalsText, f.RootCause, f.RootCauseConfidence))
                    : TypedResults.Ok(Ingest.AnalysisView.From(null, null, null, null)))
            .RequireAuthorization(Policies.ReadRecords)
            .WithName("AnalyzeText").WithSummary("Sentiment, signals and predicted root cause of a text, without storing it.");

        group.MapGet("/pareto", async Task<IResult> (HttpContext http, CloseloopDb db, string? by, string? source, string? from, string? to, string? format, CancellationToken ct) =>
            {
                var isContacts = source == "contacts";
                var dims = isContacts ? [.. ResponseDimensions, "queue"] : ResponseDimensions;
                if (by is not null && !dims.Contains(by))
                {
                    return Problems.Validation("by", $"must be one of {string.Join(", ", dims)}");
                }
                var (a, b, error) = Period(from, to);
                if (error is not null)
                {
                    return error;
                }
                var scope = CallerScope.From(http.User);
                var table = isContacts ? "contacts" : "responses";
                var at = isContacts ? "occurred_at" : "responded_at";
                var column = by switch { "site" => "site_id", "team" => "team_id", "agent" => "agent_id", "channel" => "channel", "queue" => "queue", _ => "'all'" };
                var rows = await QueryAsync(db, $"SELECT {column}, root_cause, COUNT(*) FROM {table} WHERE root_cause IS NOT NULL AND {at} >= @a AND {at} < @b" +
                    (scope.SiteId is null ? "" : " AND site_id = @site") + $" GROUP BY {(by is null ? "root_cause" : column + ", root_cause")}", a, b, scope.SiteId,
                    r => (Key: r.IsDBNull(0) ? "" : Convert.ToString(r.GetValue(0), CultureInfo.InvariantCulture)!, Cause: r.GetString(1), Count: r.GetInt64(2)), ct);
                var causes = await db.RootCauses.AsNoTracking().ToDictionaryAsync(r => r.Code, ct);
                var names = await KeyNamesAsync(db, by, ct);
                ParetoGroup Build(string? key, IEnumerable<(string Cause, long Count)> counts)
                {
                    var list = counts.GroupBy(c => c.Cause).Select(g => (Cause: g.Key, Count: g.Sum(x => x.Count))).OrderByDescending(c => c.Count).ThenBy(c => c.Cause, StringComparer.Ordinal).ToList();
                    var total = list.Sum(c => c.Count);
                    var running = 0L;
                    return new ParetoGroup(key, total, list.Select(c =>
                    {
                        running += c.Count;
                        var cause = causes.GetValueOrDefault(c.Cause);
                        return new CauseCount(c.Cause, cause?.Name, cause?.Department, c.Count, 100.0 * c.Count / total, 100.0 * running / total);
                    }).ToList());
                }
                var report = new ParetoReport(isContacts ? "contacts" : "responses", by, Build(null, rows.Select(r => (r.Cause, r.Count))),
                    by is null ? [] : rows.GroupBy(r => r.Key).Select(g => Build(names(g.Key), g.Select(r => (r.Cause, r.Count)))).OrderByDescending(g => g.Total).ToList());
                if (format == "csv")
                {
                    var csv = new StringBuilder("group,cause,name,department,count,share,cumulative\n");
                    foreach (var g in by is null ? [report.Overall] : report.Groups)
                    {
                        foreach (var c in g.Causes)
                        {
                            csv.Append(Csv(g.Key ?? "all")).Append(',').Append(Csv(c.Code)).Append(',').Append(Csv(c.Name)).Append(',').Append(Csv(c.Department)).Append(',')
                                .Append(c.Count.ToString(CultureInfo.InvariantCulture)).Append(',').Append(c.Share.ToString("0.##", CultureInfo.InvariantCulture)).Append(',')
                                .Append(c.Cumulative.ToString("0.##", CultureInfo.InvariantCulture)).Append('\n');
                        }
                    }
                    return TypedResults.Text(csv.ToString(), "text/csv");
                }
                return TypedResults.Ok(report);
            })
            .RequireAuthorization()
            .WithName("GetCausePareto").WithSummary("Root causes ranked by how often they occur, overall and by site, team, agent, channel or (for contacts) queue; format=csv for CSV.");

        group.MapGet("/trend", async Task<IResult> (HttpContext http, CloseloopDb db, string? cause, string? from, string? to, CancellationToken ct) =>
            {
                var (a, b, error) = Period(from, to);
                if (error is not null)
                {
                    return error;
                }
                var scope = CallerScope.From(http.User);
                var filter = cause is null ? "" : " AND root_cause = @cause";
                var rows = await QueryAsync(db, "SELECT responded_at / 86400000, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b" +
                    (scope.SiteId is null ? "" : " AND site_id = @site") + filter + " GROUP BY responded_at / 86400000, root_cause", a, b, scope.SiteId,
                    r => new TrendPoint(DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)r.GetInt64(0)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                        r.GetString(1), r.GetInt64(2)), ct, ("@cause", cause?.ToLowerInvariant()));
                return TypedResults.Ok(rows.OrderBy(p => p.Day, StringComparer.Ordinal).ThenBy(p => p.Cause, StringComparer.Ordinal).ToList());
            })
            .RequireAuthorization()
            .WithName("GetCauseTrend").WithSummary("Daily counts of each root cause (or of one, with cause=) over a period.");

        group.MapGet("/drivers", async Task<IResult> (HttpContext http, CloseloopDb db, string? metric, string? from, string? to, CancellationToken ct) =>
            {
                metric = (metric ?? "csat").ToLowerInvariant();
                if (metric is not ("csat" or "nps"))
                {
                    return Problems.Validation("metric", "must be csat or nps");
                }
                var (a, b, error) = Period(from, to);
                if (error is not null)
                {
                    return error;
                }
                var scope = CallerScope.From(http.User);
                var rows = await QueryAsync(db, "SELECT COALESCE(root_cause, ''), COUNT(*), " +
                    (metric == "csat" ? "SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END), 0" : "SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END)") +
                    " FROM responses WHERE metric = @m AND responded_at >= @a AND responded_at < @b" + (scope.SiteId is null ? "" : " AND site_id = @site") +
                    " GROUP BY COALESCE(root_cause, '')", a, b, scope.SiteId, r => (Cause: r.GetString(0), N: r.GetInt64(1), Top: r.GetInt64(2), Bottom: r.GetInt64(3)), ct, ("@m", metric));
                var n = rows.Sum(r => r.N);
                var top = rows.Sum(r => r.Top);
                var bottom = rows.Sum(r => r.Bottom);
                double? Score(long count, long t, long bt) => count == 0 ? null : 100.0 * (t - bt) / count;
                var names = await db.RootCauses.AsNoTracking().ToDictionaryAsync(r => r.Code, r => r.Name, ct);
                // The points a cause costs: how much better the score is without it, times how often it occurs.
                var drivers = rows.Where(r => r.Cause.Length > 0).Select(r =>
                {
                    var with = Score(r.N, r.Top, r.Bottom);
                    var without = Score(n - r.N, top - r.Top, bottom - r.Bottom);
                    var share = (double)r.N / n;
                    return new Driver(r.Cause, names.GetValueOrDefault(r.Cause), r.N, 100 * share, with, without, with is null || without is null ? null : (without - with) * share);
                }).OrderByDescending(d => d.PointsLost ?? double.MinValue).ToList();
                return TypedResults.Ok(new DriversReport(metric, n, Score(n, top, bottom), drivers));
            })
            .RequireAuthorization()
            .WithName("GetScoreDrivers").WithSummary("Which causes hurt CSAT or NPS most: the score with and without each cause, and the points it costs weighted by its share.");
        return routes;
    }

    private static string Csv(string? value) =>
        value is null ? "" : value.IndexOfAny([',', '"', '\n', '\r']) >= 0 || value.StartsWith('=') || value.StartsWith('+') || value.StartsWith('-') || value.StartsWith('@')
            ? "\"" + (value.StartsWith('=') || value.StartsWith('+') || value.StartsWith('-') || value.StartsWith('@') ? "'" : "") + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;

    private static (long From, long To, IResult? Error) Period(string? from, string? to)
    {
        long a = 0, b = long.MaxValue / 2;
        if (from is not null)
        {
            if (!DateTimeOffset.TryParse(from, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var f))
            {
                return (0, 0, Problems.Validation("from", "must be an ISO 8601 date or date and time"));
            }
            a = f.ToUnixTimeMilliseconds();
        }
        if (to is not null)
        {
            if (!DateTimeOffset.TryParse(to, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t))
            {
                return (0, 0, Problems.Validation("to", "must be an ISO 8601 date or date and time"));
            }
            b = to.Length == 10 ? t.AddDays(1).ToUnixTimeMilliseconds() : t.ToUnixTimeMilliseconds();
        }
        return (a, b, null);
    }

    private static async Task<List<T>> QueryAsync<T>(CloseloopDb db, string sql, long a, long b, long? site, Func<DbDataReader, T> map, CancellationToken ct,
        params (string Name, object? Value)[] extra)
    {
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            Migrator.AddParameter(command, "@a", a);
            Migrator.AddParameter(command, "@b", b);
            if (site is not null)
            {
                Migrator.AddParameter(command, "@site", site);
            }
            foreach (var (name, value) in extra)
            {
                Migrator.AddParameter(command, name, value);
            }
            var list = new List<T>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                list.Add(map(reader));
            }
            return list;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static async Task<Func<string, string?>> KeyNamesAsync(CloseloopDb db, string? by, CancellationToken ct)
    {
        Dictionary<string, string>? map = by switch
        {
            "site" => await db.Sites.AsNoTracking().ToDictionaryAsync(s => s.Id.ToString(CultureInfo.InvariantCulture), s => s.Code, ct),
            "team" => await db.Teams.AsNoTracking().ToDictionaryAsync(s => s.Id.ToString(CultureInfo.InvariantCulture), s => s.Code, ct),
            "agent" => await db.Agents.AsNoTracking().ToDictionaryAsync(s => s.Id.ToString(CultureInfo.InvariantCulture), s => s.Code, ct),
            _ => null,
        };
        return key => map is null ? key : map.GetValueOrDefault(key);
    }
}
