using System.Globalization;
using Closeloop.Alerts;
using Closeloop.Data;
using Closeloop.Responses;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Metrics;

/// <summary>
/// The service-recovery measures over the alerts raised in a period. Alerts are few beside responses, so they
/// are read directly:
/// closed-loop rate = alerts whose customer was reached and told the outcome / alerts;
/// time to first contact = from the alert to the customer reached (median and mean minutes);
/// SLA adherence = alerts acted on before their first deadline / alerts decided (acted on, or past the deadline);
/// recovery rate = recovered customers whose follow-up score is not in the bottom of the scale / follow-ups answered.
/// </summary>
public static class AlertMeasures
{
    public const string TotalKey = "\u0000total";

    public static readonly AlertFigures Empty = new(0, new ShareFigure(null, 0, 0), new DurationFigure(null, null, 0), new ShareFigure(null, 0, 0), new ShareFigure(null, 0, 0));

    public sealed class Accumulator
    {
        private readonly List<double> _minutes = [];
        private long _n, _closed, _decided, _onTime, _followUps, _recovered;

        public void Add(AlertRow a, DateTimeOffset now)
        {
            _n++;
            if (a.ReachedAt is not null && a.CustomerToldAt is not null)
            {
                _closed++;
            }
            if (a.ReachedAt is { } reached)
            {
                _minutes.Add((reached - a.CreatedAt).TotalMinutes);
            }
            if (a.ActedAt is not null || now > a.FirstDueAt)
            {
                _decided++;
                if (a.ActedAt is { } acted && acted <= a.FirstDueAt)
                {
                    _onTime++;
                }
            }
            if (a.FollowupScore is { } score && a.FollowupMetric is { } metric)
            {
                _followUps++;
                if (!MetricScales.IsBottom(metric, score))
                {
                    _recovered++;
                }
            }
        }

        public AlertFigures Figures()
        {
            _minutes.Sort();
            double? median = _minutes.Count == 0 ? null
                : _minutes.Count % 2 == 1 ? _minutes[_minutes.Count / 2] : (_minutes[(_minutes.Count / 2) - 1] + _minutes[_minutes.Count / 2]) / 2;
            return new AlertFigures(_n,
                new ShareFigure(Percent(_closed, _n), _n, _closed),
                new DurationFigure(median, _minutes.Count == 0 ? null : _minutes.Average(), _minutes.Count),
                new ShareFigure(Percent(_onTime, _decided), _decided, _onTime),
                new ShareFigure(Percent(_recovered, _followUps), _followUps, _recovered));
        }

        private static double? Percent(long part, long whole) => whole == 0 ? null : 100.0 * part / whole;
    }

    public sealed record AlertRow(long SiteId, long TeamId, long AgentId, string Owner, DateTimeOffset CreatedAt, DateTimeOffset FirstDueAt,
        DateTimeOffset? ActedAt, DateTimeOffset? ReachedAt, DateTimeOffset? CustomerToldAt, int? FollowupScore, string? FollowupMetric);

    public static async Task<Dictionary<string, Accumulator>> RunAsync(CloseloopDb db, DateTimeOffset? from, DateTimeOffset? to, string? groupBy, long? siteId,
        DateTimeOffset now, CancellationToken ct) =>
        Accumulate(await LoadAsync(db, from, to, siteId, ct), groupBy, now);

    /// <summary>The alerts raised in the period, as the measures read them; a page that groups them two ways reads them once.</summary>
    public static async Task<List<AlertRow>> LoadAsync(CloseloopDb db, DateTimeOffset? from, DateTimeOffset? to, long? siteId, CancellationToken ct)
    {
        var query = db.Alerts.AsNoTracking();
        if (from is { } f)
        {
            query = query.Where(a => a.CreatedAt >= f);
        }
        if (to is { } t)
        {
            query = query.Where(a => a.CreatedAt < t);
        }
        if (siteId is { } site)
        {
            query = query.Where(a => a.SiteId == site);
        }
        var rows = await query.Select(a => new AlertRow(a.SiteId, a.TeamId, a.AgentId, a.Owner, a.CreatedAt, a.FirstDueAt, a.ActedAt, a.ReachedAt, a.CustomerToldAt,
            a.FollowupScore, a.FollowupMetric)).ToListAsync(ct);
        return rows;
    }

    /// <param name="now">From the injected clock: an alert not acted on counts against SLA adherence once its deadline is past.</param>
    public static Dictionary<string, Accumulator> Accumulate(IReadOnlyList<AlertRow> rows, string? groupBy, DateTimeOffset now)
    {
        var result = new Dictionary<string, Accumulator>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            Get(result, TotalKey).Add(row, now);
            var key = groupBy switch
            {
                "site" => row.SiteId.ToString(CultureInfo.InvariantCulture),
                "team" => row.TeamId.ToString(CultureInfo.InvariantCulture),
                "agent" => row.AgentId.ToString(CultureInfo.InvariantCulture),
                "day" => (row.CreatedAt.ToUnixTimeMilliseconds() / 86_400_000).ToString(CultureInfo.InvariantCulture),
                "owner" => row.Owner,
                _ => null,
            };
            if (key is not null)
            {
                Get(result, key).Add(row, now);
            }
        }
        return result;
    }

    private static Accumulator Get(Dictionary<string, Accumulator> cells, string key)
    {
        if (!cells.TryGetValue(key, out var cell))
        {
            cell = new Accumulator();
            cells[key] = cell;
        }
        return cell;
    }
}
