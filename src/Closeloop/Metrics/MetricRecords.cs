using System.Globalization;
using Closeloop.Alerts;
using Closeloop.Contacts;
using Closeloop.Data;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Metrics;

/// <summary>The filter behind one figure of <see cref="MetricsQuery.RunAsync"/>: a measure, a period and one cell of a dimension.</summary>
/// <remarks><paramref name="Now"/> comes from the injected clock, as in the measures: it decides which unanswered alerts are past their deadline.</remarks>
public sealed record RecordFilter(string Metric, DateTimeOffset? From, DateTimeOffset? To, long? SiteId, long? TeamId, long? AgentId, string? Channel, long? Day,
    DateTimeOffset Now)
{
    /// <summary>A recovery specialist's e-mail: only the records of customers with an alert of theirs (<see cref="CallerScope.RecoveryOwner"/>).</summary>
    public string? RecoveryOwner { get; init; }
}

/// <summary>
/// One record behind a figure: a survey response (CSAT, NPS, CES), an issue with its first contact (FCR), or an
/// alert (the service-recovery measures).
/// </summary>
public sealed record MetricRecord(
    string Kind, long Id, string? ExternalId, DateTimeOffset At, string? Customer, string? Site, string? Team, string? Agent, string? Channel,
    string Metric, int? Score, string? Comment, string? Reason, int? Contacts, bool? ResolvedOnFirstContact, string? Status, string? Owner);

public sealed record MetricRecordsPage(string Metric, long Total, IReadOnlyList<MetricRecord> Items, string? NextCursor);

/// <summary>The query string of a drill-down, as the API and the console page both take it.</summary>
public sealed record RecordParameters(string? Metric, string? From, string? To, string? Site, string? Team, string? Agent, string? Channel, string? Day);

/// <summary>
/// The records behind a dashboard figure, filtered exactly as <see cref="MetricsQuery.RunAsync"/> counts them, so a
/// list's count equals the figure's n: responses of the metric with responded_at in [from, to); issues with first_at
/// in [from, to), the day being the issue's own day column; alerts created in [from, to), narrowed for each alert
/// measure to the alerts in its n (<see cref="AlertMeasures"/>). Days are UTC days.
/// </summary>
public static class MetricRecords
{
    /// <summary>Stands for "no team" (or site, agent) in a filter: the figures group records without one under a null key.</summary>
    public const string None = "(none)";

    public static readonly string[] Metrics = ["csat", "nps", "ces", "fcr", "alerts", "closed_loop", "sla", "first_contact", "recovery"];

    /// <summary>The alert measures: <c>alerts</c> and <c>closed_loop</c> list every alert, the others only those their n counts.</summary>
    public static readonly string[] AlertMetrics = ["alerts", "closed_loop", "sla", "first_contact", "recovery"];

    public static bool IsAlertMetric(string metric) => AlertMetrics.Contains(metric);

    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    private const long DayMs = 86_400_000;

    /// <summary>Checks the parameters and resolves codes to ids within the caller's scope. Null filter and null errors: not found (404).</summary>
    public static async Task<(RecordFilter? Filter, Dictionary<string, string[]>? Errors)> ResolveAsync(CloseloopDb db, CallerScope scope, RecordParameters p, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var metric = p.Metric?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(metric))
        {
            errors["metric"] = [$"is required: one of {string.Join(", ", Metrics)}"];
        }
        else if (!Metrics.Contains(metric))
        {
            errors["metric"] = [$"must be one of {string.Join(", ", Metrics)}"];
        }
        var from = MetricsEndpoints.ParseBound(p.From, false, "from", errors);
        var to = MetricsEndpoints.ParseBound(p.To, true, "to", errors);
        if (from is not null && to is not null && from > to)
        {
            errors["to"] = ["must not be before from"];
        }
        long? day = null;
        if (!string.IsNullOrWhiteSpace(p.Day))
        {
            if (DateOnly.TryParseExact(p.Day.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                day = date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
            }
            else
            {
                errors["day"] = ["must be a date written as YYYY-MM-DD"];
            }
        }
        string? channel = null;
        if (!string.IsNullOrWhiteSpace(p.Channel))
        {
            channel = p.Channel.Trim().ToLowerInvariant();
            if (metric is not null && IsAlertMetric(metric))
            {
                errors["channel"] = ["does not apply to alerts, which have no channel"];
            }
            else if (!Channels.All.Contains(channel))
            {
                errors["channel"] = [$"must be one of {string.Join(", ", Channels.All)}"];
            }
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        long? siteId = scope.SiteId;
        if (!string.IsNullOrWhiteSpace(p.Site))
        {
            var code = Code(p.Site);
            var id = code == None ? 0 : await db.Sites.Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
            // Another site's records answer like a missing site, so nothing leaks.
            if (id is null || !scope.CanSeeSite(id.Value))
            {
                return (null, null);
            }
            siteId = id;
        }
        long? teamId = null;
        if (!string.IsNullOrWhiteSpace(p.Team))
        {
            var code = Code(p.Team);
            var team = code == None ? new { Id = 0L, SiteId = scope.SiteId ?? 0 }
                : await db.Teams.Where(t => t.Code == code).Select(t => new { t.Id, t.SiteId }).FirstOrDefaultAsync(ct);
            if (team is null || (!scope.CanSeeSite(team.SiteId) && !await SeenAtSiteAsync(db, scope.SiteId!.Value, team.Id, null, ct)))
            {
                return (null, null);
            }
            teamId = team.Id;
        }
        long? agentId = null;
        if (!string.IsNullOrWhiteSpace(p.Agent))
        {
            var code = Code(p.Agent);
            var agent = code == None ? new { Id = 0L, SiteId = scope.SiteId ?? 0 }
                : await db.Agents.Where(a => a.Code == code).Select(a => new { a.Id, a.SiteId }).FirstOrDefaultAsync(ct);
            if (agent is null || (!scope.CanSeeSite(agent.SiteId) && !await SeenAtSiteAsync(db, scope.SiteId!.Value, null, agent.Id, ct)))
            {
                return (null, null);
            }
            agentId = agent.Id;
        }
        return (new RecordFilter(metric!, from, to, siteId, teamId, agentId, channel, day, now) { RecoveryOwner = scope.RecoveryOwner }, null);
    }

    /// <summary>
    /// A team or agent belongs to the site where it was first seen, but a record may name it at another site, and the
    /// figures of that site then show it: it is visible there too, with only that site's records.
    /// </summary>
    private static async Task<bool> SeenAtSiteAsync(CloseloopDb db, long siteId, long? teamId, long? agentId, CancellationToken ct) =>
        await db.Responses.AnyAsync(r => r.SiteId == siteId && (teamId == null || r.TeamId == teamId) && (agentId == null || r.AgentId == agentId), ct)
        || await db.Issues.AnyAsync(i => i.SiteId == siteId && (teamId == null || i.TeamId == teamId) && (agentId == null || i.AgentId == agentId), ct)
        || await db.Alerts.AnyAsync(a => a.SiteId == siteId && (teamId == null || a.TeamId == teamId) && (agentId == null || a.AgentId == agentId), ct);

    /// <summary>Codes are stored lower-case, as ingest writes them.</summary>
    private static string Code(string text) => text.Trim().ToLowerInvariant();

    /// <summary>How many records the figure counts.</summary>
    public static Task<int> CountAsync(CloseloopDb db, RecordFilter f, CancellationToken ct) => f.Metric switch
    {
        "fcr" => Issues(db, f).CountAsync(ct),
        _ when IsAlertMetric(f.Metric) => Alerts(db, f).CountAsync(ct),
        _ => Responses(db, f).CountAsync(ct),
    };

    /// <summary>One page, newest first, after the cursor (the last record's time and id).</summary>
    public static async Task<MetricRecordsPage> PageAsync(CloseloopDb db, RecordFilter f, string? cursor, int limit, CancellationToken ct)
    {
        var after = ParseCursor(cursor);
        var total = await CountAsync(db, f, ct);
        var items = await Query(db, f, after).Take(limit + 1).ToListAsync(ct);
        string? next = null;
        if (items.Count > limit)
        {
            items.RemoveAt(limit);
            var last = items[^1];
            next = string.Create(CultureInfo.InvariantCulture, $"{last.At.ToUnixTimeMilliseconds()}_{last.Id}");
        }
        return new MetricRecordsPage(f.Metric, total, items, next);
    }

    public static bool IsValidCursor(string? cursor) => cursor is null || ParseCursor(cursor) is not null;

    /// <summary>Every record, streamed, for CSV.</summary>
    public static IAsyncEnumerable<MetricRecord> All(CloseloopDb db, RecordFilter f) => Query(db, f, null).AsAsyncEnumerable();

    public static readonly string[] CsvHeader = ["kind", "id", "external_id", "at", "customer", "site", "team", "agent", "channel", "metric", "score", "comment",
        "reason", "contacts", "resolved_on_first_contact", "status", "owner"];

    public static object?[] CsvRow(MetricRecord r) =>
        [r.Kind, r.Id, r.ExternalId, r.At, r.Customer, r.Site, r.Team, r.Agent, r.Channel, r.Metric, r.Score, r.Comment, r.Reason, r.Contacts, r.ResolvedOnFirstContact, r.Status, r.Owner];

    private static (long AtMs, long Id)? ParseCursor(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }
        var parts = cursor.Split('_');
        return parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var at)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? (at, id) : null;
    }

    /// <summary>[from, to) narrowed to the UTC day when a day is asked for: RunAsync groups responses and alerts by the UTC day of their time.</summary>
    private static (DateTimeOffset? From, DateTimeOffset? To) Window(RecordFilter f)
    {
        if (f.Day is not { } day)
        {
            return (f.From, f.To);
        }
        var start = DateTimeOffset.FromUnixTimeMilliseconds(day * DayMs);
        var end = Web.IsoTime.EndOfDay(start);
        return (f.From is { } a && a > start ? a : start, f.To is { } b && b < end ? b : end);
    }

    private static IQueryable<Responses.SurveyResponse> Responses(CloseloopDb db, RecordFilter f)
    {
        var (from, to) = Window(f);
        var q = db.Responses.AsNoTracking().Where(r => r.Metric == f.Metric);
        if (from is { } a)
        {
            q = q.Where(r => r.RespondedAt >= a);
        }
        if (to is { } b)
        {
            q = q.Where(r => r.RespondedAt < b);
        }
        if (f.SiteId is { } site)
        {
            q = q.Where(r => r.SiteId == site);
        }
        if (f.TeamId is { } team)
        {
            q = q.Where(r => r.TeamId == team);
        }
        if (f.AgentId is { } agent)
        {
            q = q.Where(r => r.AgentId == agent);
        }
        if (f.Channel is { } channel)
        {
            q = q.Where(r => r.Channel == channel);
        }
        if (f.RecoveryOwner is { } owner)
        {
            var theirs = AlertViews.CustomersOf(db, owner);
            q = q.Where(r => theirs.Contains(r.CustomerId));
        }
        return q;
    }

    /// <summary>Issues by first_at, and by the issue's own day column, as RunAsync (rollups and raw edges alike) groups them.</summary>
    private static IQueryable<ContactIssue> Issues(CloseloopDb db, RecordFilter f)
    {
        var q = db.Issues.AsNoTracking();
        if (f.From is { } a)
        {
            q = q.Where(i => i.FirstAt >= a);
        }
        if (f.To is { } b)
        {
            q = q.Where(i => i.FirstAt < b);
        }
        if (f.Day is { } day)
        {
            q = q.Where(i => i.Day == day);
        }
        if (f.SiteId is { } site)
        {
            q = q.Where(i => i.SiteId == site);
        }
        if (f.TeamId is { } team)
        {
            q = q.Where(i => i.TeamId == team);
        }
        if (f.AgentId is { } agent)
        {
            q = q.Where(i => i.AgentId == agent);
        }
        if (f.Channel is { } channel)
        {
            q = q.Where(i => i.Channel == channel);
        }
        if (f.RecoveryOwner is { } owner)
        {
            var theirs = AlertViews.CustomersOf(db, owner);
            q = q.Where(i => theirs.Contains(i.CustomerId));
        }
        return q;
    }

    private static IQueryable<Alerts.Alert> Alerts(CloseloopDb db, RecordFilter f)
    {
        var (from, to) = Window(f);
        var q = db.Alerts.AsNoTracking();
        if (from is { } a)
        {
            q = q.Where(x => x.CreatedAt >= a);
        }
        if (to is { } b)
        {
            q = q.Where(x => x.CreatedAt < b);
        }
        if (f.SiteId is { } site)
        {
            q = q.Where(x => x.SiteId == site);
        }
        if (f.TeamId is { } team)
        {
            q = q.Where(x => x.TeamId == team);
        }
        if (f.AgentId is { } agent)
        {
            q = q.Where(x => x.AgentId == agent);
        }
        if (f.RecoveryOwner is { } owner)
        {
            q = q.Where(x => x.Owner == owner);
        }
        // The same tests as AlertMeasures.Accumulator, with the same clock.
        var now = f.Now;
        return f.Metric switch
        {
            "sla" => q.Where(x => x.ActedAt != null || x.FirstDueAt < now),
            "first_contact" => q.Where(x => x.ReachedAt != null),
            "recovery" => q.Where(x => x.FollowupScore != null && x.FollowupMetric != null),
            _ => q,
        };
    }

    private static IQueryable<MetricRecord> Query(CloseloopDb db, RecordFilter f, (long AtMs, long Id)? after)
    {
        var at = after is null ? default : DateTimeOffset.FromUnixTimeMilliseconds(after.Value.AtMs);
        var afterId = after?.Id ?? 0;
        switch (f.Metric)
        {
            case "fcr":
            {
                var q = Issues(db, f);
                if (after is not null)
                {
                    q = q.Where(i => i.FirstAt < at || (i.FirstAt == at && i.Id < afterId));
                }
                // The first contact is found through the (customer, time) index rather than a scan by issue.
                return q.OrderByDescending(i => i.FirstAt).ThenByDescending(i => i.Id).Select(i => new MetricRecord(
                    "issue", i.Id,
                    db.Contacts.Where(c => c.CustomerId == i.CustomerId && c.OccurredAt == i.FirstAt && c.IssueId == i.Id).Select(c => c.ExternalId).FirstOrDefault(),
                    i.FirstAt,
                    db.Customers.Where(c => c.Id == i.CustomerId).Select(c => c.ExternalId).FirstOrDefault(),
                    db.Sites.Where(s => s.Id == i.SiteId).Select(s => s.Code).FirstOrDefault(),
                    db.Teams.Where(t => t.Id == i.TeamId).Select(t => t.Code).FirstOrDefault(),
                    db.Agents.Where(x => x.Id == i.AgentId).Select(x => x.Code).FirstOrDefault(),
                    i.Channel, "fcr", null,
                    db.Contacts.Where(c => c.CustomerId == i.CustomerId && c.OccurredAt == i.FirstAt && c.IssueId == i.Id).Select(c => c.Summary).FirstOrDefault(),
                    i.Reason, i.ContactCount, i.ContactCount == 1 && i.FirstResolved != false, null, null));
            }
            case var metric when IsAlertMetric(metric):
            {
                var q = Alerts(db, f);
                if (after is not null)
                {
                    q = q.Where(x => x.CreatedAt < at || (x.CreatedAt == at && x.Id < afterId));
                }
                return q.OrderByDescending(x => x.CreatedAt).ThenByDescending(x => x.Id).Select(x => new MetricRecord(
                    "alert", x.Id, null, x.CreatedAt,
                    db.Customers.Where(c => c.Id == x.CustomerId).Select(c => c.ExternalId).FirstOrDefault(),
                    db.Sites.Where(s => s.Id == x.SiteId).Select(s => s.Code).FirstOrDefault(),
                    db.Teams.Where(t => t.Id == x.TeamId).Select(t => t.Code).FirstOrDefault(),
                    db.Agents.Where(a => a.Id == x.AgentId).Select(a => a.Code).FirstOrDefault(),
                    null, f.Metric, x.FollowupScore, x.Outcome, x.RootCause, null, null, x.Status, x.Owner));
            }
            default:
            {
                var q = Responses(db, f);
                if (after is not null)
                {
                    q = q.Where(r => r.RespondedAt < at || (r.RespondedAt == at && r.Id < afterId));
                }
                return q.OrderByDescending(r => r.RespondedAt).ThenByDescending(r => r.Id).Select(r => new MetricRecord(
                    "response", r.Id, r.ExternalId, r.RespondedAt,
                    db.Customers.Where(c => c.Id == r.CustomerId).Select(c => c.ExternalId).FirstOrDefault(),
                    db.Sites.Where(s => s.Id == r.SiteId).Select(s => s.Code).FirstOrDefault(),
                    db.Teams.Where(t => t.Id == r.TeamId).Select(t => t.Code).FirstOrDefault(),
                    db.Agents.Where(a => a.Id == r.AgentId).Select(a => a.Code).FirstOrDefault(),
                    r.Channel, r.Metric, r.Score, r.Comment, null, null, null, null, null));
            }
        }
    }
}
