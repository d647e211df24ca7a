using System.Data.Common;
using System.Globalization;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Metrics;

public sealed record RateFigure(double? Value, long N, long Top);

public sealed record NpsFigure(double? Value, long N, long Promoters, long Passives, long Detractors);

public sealed record CesFigure(double? Value, double? Mean, long N, long Agree);

public sealed record FcrFigure(double? Value, long N, long Resolved);

public sealed record ShareFigure(double? Value, long N, long Count);

public sealed record DurationFigure(double? MedianMinutes, double? MeanMinutes, long N);

/// <summary>The service-recovery measures of PRODUCT.md, over the alerts raised in the period.</summary>
public sealed record AlertFigures(long N, ShareFigure ClosedLoop, DurationFigure TimeToFirstContact, ShareFigure SlaAdherence, ShareFigure RecoveryRate);

public sealed record MetricSet(RateFigure Csat, NpsFigure Nps, CesFigure Ces, FcrFigure Fcr)
{
    public AlertFigures? Alerts { get; init; }
}

public sealed record MetricGroup(string? Key, RateFigure Csat, NpsFigure Nps, CesFigure Ces, FcrFigure Fcr, AlertFigures? Alerts)
{
    public static MetricGroup Of(string? key, MetricSet set) => new(key, set.Csat, set.Nps, set.Ces, set.Fcr, set.Alerts);
}

public sealed record MetricsReport(DateTimeOffset? From, DateTimeOffset? To, string? GroupBy, MetricSet Total, IReadOnlyList<MetricGroup> Groups);

public static class MetricsEndpoints
{
    public static readonly string[] GroupByValues = ["site", "team", "agent", "channel", "day", "owner"];

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/v1/metrics", async (HttpContext http, CloseloopDb db, TimeProvider time, string? from, string? to, string? groupBy, string? site, CancellationToken ct) =>
            {
                var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                var fromInstant = ParseBound(from, false, "from", errors);
                var toInstant = ParseBound(to, true, "to", errors);
                var group = groupBy?.Trim().ToLowerInvariant();
                if (group is not null && !GroupByValues.Contains(group))
                {
                    errors["groupBy"] = [$"must be one of {string.Join(", ", GroupByValues)}"];
                }
                if (fromInstant is not null && toInstant is not null && fromInstant > toInstant)
                {
                    errors["to"] = ["must not be before from"];
                }
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                var scope = CallerScope.From(http.User);
                long? siteFilter = scope.SiteId;
                if (site is not null)
                {
                    var siteId = await db.Sites.Where(s => s.Code == site.Trim().ToLowerInvariant()).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
                    if (siteId is null || !scope.CanSeeSite(siteId.Value))
                    {
                        return TypedResults.NotFound();
                    }
                    siteFilter = siteId;
                }
                var report = await MetricsQuery.RunAsync(db, fromInstant, toInstant, group, siteFilter, time.GetUtcNow(), ct);
                return TypedResults.Ok(report);
            })
            .WithTags("Metrics")
            .RequireAuthorization(Policies.ReadFigures)
            .Produces<MetricsReport>()
            .ProducesValidationProblem()
            .WithName("GetMetrics")
            .WithSummary("CSAT, NPS, CES and FCR with their counts, and the alert measures (closed-loop rate, time to first contact, SLA adherence, recovery rate), for a period, optionally grouped by site, team, agent, channel, day or owner.");
        routes.MapMetricRecords();
        return routes;
    }

    /// <summary>A date alone means the whole day (so to=2026-11-30 includes the 30th); a date and time is exact, with to exclusive.</summary>
    internal static DateTimeOffset? ParseBound(string? text, bool isEnd, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        text = text.Trim();
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            var start = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return isEnd ? IsoTime.EndOfDay(start) : start;
        }
        if (IsoTime.TryParse(text, out var instant))
        {
            return instant;
        }
        errors[field] = ["must be an ISO 8601 date (2026-11-01) or date and time (2026-11-01T00:00:00Z)"];
        return null;
    }
}

/// <summary>
/// Computes the measures from the daily rollups for whole days and from the raw rows only for the partial
/// days at either end of the period, so a figure over millions of responses reads thousands of rows and is
/// still exact for any period.
/// </summary>
public static class MetricsQuery
{
    private const long DayMs = 86_400_000;

    private sealed class Counters
    {
        public long N, Top, Bottom, Sum;
    }

    private sealed class Cell
    {
        public Counters Csat { get; } = new();
        public Counters Nps { get; } = new();
        public Counters Ces { get; } = new();
        public long Issues, Fcr;

        public Counters For(string metric) => metric switch
        {
            "csat" => Csat,
            "nps" => Nps,
            _ => Ces,
        };
    }

    /// <param name="alerts">The period's alerts when the caller has already read them (<see cref="AlertMeasures.LoadAsync"/>).</param>
    public static async Task<MetricsReport> RunAsync(CloseloopDb db, DateTimeOffset? from, DateTimeOffset? to, string? groupBy, long? siteId, DateTimeOffset now,
        CancellationToken ct, IReadOnlyList<AlertMeasures.AlertRow>? alerts = null)
    {
        var fromMs = from?.ToUnixTimeMilliseconds() ?? 0;
        var toMs = to?.ToUnixTimeMilliseconds() ?? long.MaxValue / 2;
        // Whole days inside [from, to): served by rollups. The rest at each end comes from the raw rows.
        var firstFullDay = (fromMs + DayMs - 1) / DayMs;
        var endFullDay = toMs / DayMs;
        var cells = new Dictionary<string, Cell>(StringComparer.Ordinal);
        var column = groupBy switch
        {
            "site" => "site_id",
            "team" => "team_id",
            "agent" => "agent_id",
            "channel" => "channel",
            "day" => "day",
            _ => null,
        };
        var alertCells = alerts is null ? await AlertMeasures.RunAsync(db, from, to, groupBy, siteId, now, ct) : AlertMeasures.Accumulate(alerts, groupBy, now);

        var connection = db.Database.GetDbConnection();
        var wasClosed = connection.State != System.Data.ConnectionState.Open;
        if (wasClosed)
        {
            await db.Database.OpenConnectionAsync(ct);
        }
        try
        {
            // PostgreSQL refuses a constant in GROUP BY and SQLite reads an integer there as a column number,
            // so an ungrouped report selects a constant key and groups by the metric alone.
            var keySql = column ?? "'all'";
            string By(string key, string rest) => column is null ? (rest.Length == 0 ? "" : $" GROUP BY {rest}") : $" GROUP BY {key}" + (rest.Length == 0 ? "" : $", {rest}");
            var siteSql = siteId is null ? "" : " AND site_id = @site";
            if (firstFullDay < endFullDay)
            {
                await ReadAsync(connection, $"SELECT {keySql}, metric, SUM(n), SUM(top), SUM(bottom), SUM(score_sum) FROM {(column == "agent_id" ? "agent_response_rollups" : "response_rollups")} " +
                    $"WHERE day >= @a AND day < @b{siteSql}" + By(keySql, "metric"), firstFullDay, endFullDay, siteId,
                    r => Add(cells, Key(r), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)), ct);
                await ReadAsync(connection, $"SELECT {keySql}, SUM(issues), SUM(fcr) FROM {(column == "agent_id" ? "agent_issue_rollups" : "issue_rollups")} WHERE day >= @a AND day < @b{siteSql}" + By(keySql, ""),
                    firstFullDay, endFullDay, siteId, r => AddIssues(cells, Key(r), r.GetInt64(1), r.GetInt64(2)), ct);
            }
            var edges = firstFullDay < endFullDay
                ? new[] { (fromMs, firstFullDay * DayMs), (endFullDay * DayMs, toMs) }
                : [(fromMs, toMs)];
            var rawKey = column == "day" ? "(responded_at / 86400000)" : keySql;
            foreach (var (a, b) in edges)
            {
                if (a >= b)
                {
                    continue;
                }
                await ReadAsync(connection,
                    $"SELECT {rawKey}, metric, COUNT(*), " +
                    "SUM(CASE WHEN (metric = 'csat' AND score >= 4) OR (metric = 'nps' AND score >= 9) OR (metric = 'ces' AND score >= 5) THEN 1 ELSE 0 END), " +
                    "SUM(CASE WHEN (metric = 'csat' AND score <= 2) OR (metric = 'nps' AND score <= 6) OR (metric = 'ces' AND score <= 3) THEN 1 ELSE 0 END), " +
                    $"SUM(score) FROM responses WHERE responded_at >= @a AND responded_at < @b{siteSql}" + By(rawKey, "metric"),
                    a, b, siteId, r => Add(cells, Key(r), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5)), ct);
                await ReadAsync(connection,
                    $"SELECT {keySql}, COUNT(*), SUM(CASE WHEN contact_count = 1 AND (first_resolved IS NULL OR first_resolved = @t) THEN 1 ELSE 0 END) " +
                    $"FROM issues WHERE first_at >= @a AND first_at < @b{siteSql}" + By(keySql, ""),
                    a, b, siteId, r => AddIssues(cells, Key(r), r.GetInt64(1), r.GetInt64(2)), ct);
            }
        }
        finally
        {
            if (wasClosed)
            {
                await db.Database.CloseConnectionAsync();
            }
        }

        var names = await NamesAsync(db, groupBy, cells.Keys.Concat(alertCells.Keys).Where(k => k != AlertMeasures.TotalKey), ct);
        var keys = cells.Keys.Union(alertCells.Keys).Where(k => k != AlertMeasures.TotalKey && (column is not null || groupBy == "owner")).ToList();
        var groups = groupBy is null
            ? new List<MetricGroup>()
            : keys.Select(k => MetricGroup.Of(groupBy == "owner" ? k : names(k), Figures(cells.GetValueOrDefault(k) ?? new Cell()) with { Alerts = alertCells.GetValueOrDefault(k)?.Figures() ?? AlertMeasures.Empty }))
                .OrderBy(g => groupBy == "day" ? g.Key : null, StringComparer.Ordinal)
                .ThenByDescending(g => g.Csat.N + g.Nps.N + g.Ces.N + g.Fcr.N)
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .ToList();
        var total = new Cell();
        foreach (var cell in cells.Values)
        {
            foreach (var m in new[] { "csat", "nps", "ces" })
            {
                var c = cell.For(m);
                var t = total.For(m);
                t.N += c.N;
                t.Top += c.Top;
                t.Bottom += c.Bottom;
                t.Sum += c.Sum;
            }
            total.Issues += cell.Issues;
            total.Fcr += cell.Fcr;
        }
        return new MetricsReport(from, to, groupBy, Figures(total) with { Alerts = alertCells.GetValueOrDefault(AlertMeasures.TotalKey)?.Figures() ?? AlertMeasures.Empty }, groups);
    }

    private static string Key(DbDataReader reader) => reader.IsDBNull(0) ? "" : Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture)!;

    private static void Add(Dictionary<string, Cell> cells, string key, string metric, long n, long top, long bottom, long sum)
    {
        var c = Get(cells, key).For(metric);
        c.N += n;
        c.Top += top;
        c.Bottom += bottom;
        c.Sum += sum;
    }

    private static void AddIssues(Dictionary<string, Cell> cells, string key, long issues, long fcr)
    {
        var cell = Get(cells, key);
        cell.Issues += issues;
        cell.Fcr += fcr;
    }

    private static Cell Get(Dictionary<string, Cell> cells, string key)
    {
        if (!cells.TryGetValue(key, out var cell))
        {
            cell = new Cell();
            cells[key] = cell;
        }
        return cell;
    }

    /// <summary>The industry's definitions, from PRODUCT.md: CSAT top-two box, NPS promoters minus detractors, CES 5–7 with the mean, FCR.</summary>
    private static MetricSet Figures(Cell cell) => new(
        new RateFigure(Percent(cell.Csat.Top, cell.Csat.N), cell.Csat.N, cell.Csat.Top),
        new NpsFigure(cell.Nps.N == 0 ? null : 100.0 * (cell.Nps.Top - cell.Nps.Bottom) / cell.Nps.N, cell.Nps.N, cell.Nps.Top,
            cell.Nps.N - cell.Nps.Top - cell.Nps.Bottom, cell.Nps.Bottom),
        new CesFigure(Percent(cell.Ces.Top, cell.Ces.N), cell.Ces.N == 0 ? null : (double)cell.Ces.Sum / cell.Ces.N, cell.Ces.N, cell.Ces.Top),
        new FcrFigure(Percent(cell.Fcr, cell.Issues), cell.Issues, cell.Fcr));

    private static double? Percent(long part, long whole) => whole == 0 ? null : 100.0 * part / whole;

    private static async Task ReadAsync(DbConnection connection, string sql, long a, long b, long? siteId, Action<DbDataReader> row, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        Migrator.AddParameter(command, "@a", a);
        Migrator.AddParameter(command, "@b", b);
        Migrator.AddParameter(command, "@t", true);
        if (siteId is not null)
        {
            Migrator.AddParameter(command, "@site", siteId.Value);
        }
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (!reader.IsDBNull(2))
            {
                row(reader);
            }
        }
    }

    private static async Task<Func<string, string?>> NamesAsync(CloseloopDb db, string? groupBy, IEnumerable<string> keys, CancellationToken ct)
    {
        switch (groupBy)
        {
            case "site" or "team" or "agent":
                var ids = keys.Select(k => long.Parse(k, CultureInfo.InvariantCulture)).Where(id => id != 0).ToList();
                var codes = groupBy switch
                {
                    "site" => await db.Sites.Where(s => ids.Contains(s.Id)).ToDictionaryAsync(s => s.Id, s => s.Code, ct),
                    "team" => await db.Teams.Where(s => ids.Contains(s.Id)).ToDictionaryAsync(s => s.Id, s => s.Code, ct),
                    _ => await db.Agents.Where(s => ids.Contains(s.Id)).ToDictionaryAsync(s => s.Id, s => s.Code, ct),
                };
                return k => codes.GetValueOrDefault(long.Parse(k, CultureInfo.InvariantCulture));
            case "day":
                return k => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + int.Parse(k, CultureInfo.InvariantCulture)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case "channel":
                return k => k;
            default:
                return _ => null;
        }
    }
}
