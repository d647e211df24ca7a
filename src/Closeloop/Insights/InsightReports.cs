using System.Data.Common;
using System.Globalization;
using System.Text;
using Closeloop.Data;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

/// <summary>
/// The root-cause reports, shared by the API and the console: the Pareto of causes, each cause's trend, and the
/// drivers (how many points of CSAT or NPS each cause costs). A site-scoped caller sees its site only.
/// </summary>
public static class InsightReports
{
    public static async Task<ParetoReport> ParetoAsync(CloseloopDb db, CallerScope scope, string? by, bool isContacts, long a, long b, CancellationToken ct)
    {
        var table = isContacts ? "contacts" : "responses";
        var at = isContacts ? "occurred_at" : "responded_at";
        var column = by switch { "site" => "site_id", "team" => "team_id", "agent" => "agent_id", "channel" => "channel", "queue" => "queue", _ => "'all'" };
        var siteFilter = scope.SiteId is null ? "" : " AND site_id = @site";
        // Responses: cause_rollups knows each cause's day and site, enough for the overall Pareto and the one by site;
        // cause_group_rollups has the team, agent and channel groupings. Queues, and contacts, scan the period's records.
        var rollup = isContacts ? null : by switch
        {
            null or "site" => $"SELECT {column}, root_cause, SUM(n) FROM cause_rollups WHERE root_cause <> '' AND day >= @a AND day < @b{siteFilter} GROUP BY {(by is null ? "root_cause" : column + ", root_cause")}",
            "team" or "agent" or "channel" => $"SELECT group_key, root_cause, SUM(n) FROM cause_group_rollups WHERE dim = '{by}' AND day >= @a AND day < @b{siteFilter} GROUP BY group_key, root_cause",
            _ => null,
        };
        var rows = await QueryDaysAsync(db, $"SELECT {column}, root_cause, COUNT(*) FROM {table} WHERE root_cause IS NOT NULL AND {at} >= @a AND {at} < @b" +
            siteFilter + $" GROUP BY {(by is null ? "root_cause" : column + ", root_cause")}", rollup, a, b, scope.SiteId,
            r => (Key: r.IsDBNull(0) ? "" : Convert.ToString(r.GetValue(0), CultureInfo.InvariantCulture)!, Cause: r.GetString(1), Count: Long(r, 2)), ct);
        var causes = await db.RootCauses.AsNoTracking().ToDictionaryAsync(r => r.Code, ct);
        var names = await KeyNamesAsync(db, by, ct);
        ParetoGroup Build(string? key, IEnumerable<(string Cause, long Count)> counts)
        {
            // A count a person moved to another cause can leave a rollup cell at zero.
            var list = counts.GroupBy(c => c.Cause).Select(g => (Cause: g.Key, Count: g.Sum(x => x.Count))).Where(c => c.Count > 0 && Owns(scope, causes, c.Cause))
                .OrderByDescending(c => c.Count).ThenBy(c => c.Cause, StringComparer.Ordinal).ToList();
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
        return report;
    }

    public static string ParetoCsv(ParetoReport report)
    {
        // RFC 4180: CRLF line ends, as the other CSV exports write them.
        var csv = new StringBuilder("group,cause,name,department,count,share,cumulative\r\n");
        foreach (var g in report.By is null ? [report.Overall] : report.Groups)
        {
            foreach (var c in g.Causes)
            {
                csv.Append(Csv(g.Key ?? "all")).Append(',').Append(Csv(c.Code)).Append(',').Append(Csv(c.Name)).Append(',').Append(Csv(c.Department)).Append(',')
                    .Append(c.Count.ToString(CultureInfo.InvariantCulture)).Append(',').Append(c.Share.ToString("0.##", CultureInfo.InvariantCulture)).Append(',')
                    .Append(c.Cumulative.ToString("0.##", CultureInfo.InvariantCulture)).Append("\r\n");
            }
        }
        return csv.ToString();
    }

    public static async Task<List<TrendPoint>> TrendAsync(CloseloopDb db, CallerScope scope, string? cause, long a, long b, CancellationToken ct)
    {
        var filter = (cause is null ? "" : " AND root_cause = @cause") + (scope.SiteId is null ? "" : " AND site_id = @site");
        var rows = await QueryDaysAsync(db, "SELECT responded_at / 86400000, root_cause, COUNT(*) FROM responses WHERE root_cause IS NOT NULL AND responded_at >= @a AND responded_at < @b" +
            filter + " GROUP BY responded_at / 86400000, root_cause",
            "SELECT day, root_cause, SUM(n) FROM cause_rollups WHERE root_cause <> '' AND day >= @a AND day < @b" + filter + " GROUP BY day, root_cause", a, b, scope.SiteId,
            r => (Day: Long(r, 0), Cause: r.GetString(1), Count: Long(r, 2)),
            ct, ("@cause", cause?.ToLowerInvariant()));
        // The taxonomy is read only to tell a department's causes from the rest.
        var causes = scope.Department is null ? null : await db.RootCauses.AsNoTracking().ToDictionaryAsync(r => r.Code, ct);
        return rows.Where(r => Owns(scope, causes, r.Cause)).GroupBy(r => (r.Day, r.Cause))
            .Select(g => new TrendPoint(DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)g.Key.Day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                g.Key.Cause, g.Sum(r => r.Count)))
            .OrderBy(p => p.Day, StringComparer.Ordinal).ThenBy(p => p.Cause, StringComparer.Ordinal).ToList();
    }

    public static async Task<DriversReport> DriversAsync(CloseloopDb db, CallerScope scope, string metric, long a, long b, CancellationToken ct)
    {
        // CSAT is the share of satisfied (4–5); NPS is promoters (9–10) minus detractors (0–6): the rollup's top and bottom.
        var siteFilter = scope.SiteId is null ? "" : " AND site_id = @site";
        var parts = await QueryDaysAsync(db, "SELECT COALESCE(root_cause, ''), COUNT(*), " +
            (metric == "csat" ? "SUM(CASE WHEN score >= 4 THEN 1 ELSE 0 END), 0" : "SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END)") +
            " FROM responses WHERE metric = @m AND responded_at >= @a AND responded_at < @b" + siteFilter + " GROUP BY COALESCE(root_cause, '')",
            $"SELECT root_cause, SUM(n), SUM(top), {(metric == "csat" ? "0" : "SUM(bottom)")} FROM cause_rollups WHERE metric = @m AND day >= @a AND day < @b{siteFilter} GROUP BY root_cause",
            a, b, scope.SiteId, r => (Cause: r.GetString(0), N: Long(r, 1), Top: Long(r, 2), Bottom: Long(r, 3)), ct, ("@m", metric));
        var rows = parts.GroupBy(r => r.Cause).Select(g => (Cause: g.Key, N: g.Sum(r => r.N), Top: g.Sum(r => r.Top), Bottom: g.Sum(r => r.Bottom))).ToList();
        var n = rows.Sum(r => r.N);
        var top = rows.Sum(r => r.Top);
        var bottom = rows.Sum(r => r.Bottom);
        double? Score(long count, long t, long bt) => count == 0 ? null : 100.0 * (t - bt) / count;
        var causes = await db.RootCauses.AsNoTracking().ToDictionaryAsync(r => r.Code, ct);
        // The points a cause costs: how much better the score is without it, times how often it occurs.
        var drivers = rows.Where(r => r.Cause.Length > 0 && Owns(scope, causes, r.Cause)).Select(r =>
        {
            var with = Score(r.N, r.Top, r.Bottom);
            var without = Score(n - r.N, top - r.Top, bottom - r.Bottom);
            var share = (double)r.N / n;
            return new Driver(r.Cause, causes.GetValueOrDefault(r.Cause)?.Name, r.N, 100 * share, with, without, with is null || without is null ? null : (without - with) * share);
        }).OrderByDescending(d => d.PointsLost ?? double.MinValue).ToList();
        return new DriversReport(metric, n, Score(n, top, bottom), drivers);
    }

    /// <summary>A department user sees only the causes its department owns (a cause no longer in the taxonomy has none).</summary>
    private static bool Owns(CallerScope scope, Dictionary<string, RootCauses.RootCause>? causes, string cause) =>
        scope.Department is not { } department || (causes is not null && causes.TryGetValue(cause, out var known) && known.Department == department);

    // Cause names and codes are typed by admins: the same quoting and formula guard as every other export.
    private static string Csv(string? value) => value is null ? "" : Web.CsvExport.Text(value);

    // SUM over a BIGINT column is NUMERIC on PostgreSQL, COUNT(*) is BIGINT: one reader for both.
    private static long Long(DbDataReader reader, int i) => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs a report over [a, b) in Unix milliseconds: the whole UTC days from <c>cause_rollups</c> with
    /// <paramref name="rollupSql"/> (@a and @b are day numbers there), the partial days at either end, or everything
    /// when there is no rollup form, from the records with <paramref name="rawSql"/>. The caller adds up the parts.
    /// </summary>
    private static async Task<List<T>> QueryDaysAsync<T>(CloseloopDb db, string rawSql, string? rollupSql, long a, long b, long? site, Func<DbDataReader, T> map,
        CancellationToken ct, params (string Name, object? Value)[] extra)
    {
        const long Day = 86_400_000;
        long firstDay = (long)Math.Ceiling(a / (double)Day), endDay = (long)Math.Floor(b / (double)Day);
        if (rollupSql is null || firstDay >= endDay)
        {
            return await QueryAsync(db, rawSql, a, b, site, map, ct, extra);
        }
        var rows = await QueryAsync(db, rollupSql, firstDay, endDay, site, map, ct, extra);
        if (a < firstDay * Day)
        {
            rows.AddRange(await QueryAsync(db, rawSql, a, firstDay * Day, site, map, ct, extra));
        }
        if (endDay * Day < b)
        {
            rows.AddRange(await QueryAsync(db, rawSql, endDay * Day, b, site, map, ct, extra));
        }
        return rows;
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
