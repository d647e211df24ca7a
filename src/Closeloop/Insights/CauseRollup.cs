using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Responses;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

/// <summary>
/// The <c>cause_rollups</c> counts (day, site, metric, cause) that the insights reports read. The ingest writer adds
/// each stored response; this moves one when a person replaces a response's predicted cause.
/// </summary>
public static class CauseRollup
{
    public static async Task MoveAsync(CloseloopDb db, DateTimeOffset respondedAt, long siteId, string metric, int score, string? from, string to, CancellationToken ct)
    {
        var day = IngestBatch.DayOf(respondedAt.ToUnixTimeMilliseconds());
        long top = MetricScales.IsTop(metric, score) ? 1 : 0, bottom = MetricScales.IsBottom(metric, score) ? 1 : 0;
        var old = from ?? "";
        await db.Database.ExecuteSqlAsync(
            $"UPDATE cause_rollups SET n = n - 1, top = top - {top}, bottom = bottom - {bottom} WHERE day = {day} AND site_id = {siteId} AND metric = {metric} AND root_cause = {old}", ct);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO cause_rollups (day, site_id, metric, root_cause, n, top, bottom) VALUES ({day}, {siteId}, {metric}, {to}, 1, {top}, {bottom}) ON CONFLICT (day, site_id, metric, root_cause) DO UPDATE SET n = cause_rollups.n + 1, top = cause_rollups.top + excluded.top, bottom = cause_rollups.bottom + excluded.bottom", ct);
    }
}
