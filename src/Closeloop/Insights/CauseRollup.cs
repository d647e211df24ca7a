using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Responses;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

/// <summary>
/// The cause rollups the insights reports read: <c>cause_rollups</c> (day, site, metric, cause) and
/// <c>cause_group_rollups</c> (team, agent or channel, day, site, cause). The ingest writer adds each stored response;
/// this moves one when a person replaces a response's predicted cause.
/// </summary>
public static class CauseRollup
{
    public static async Task MoveAsync(CloseloopDb db, SurveyResponseCauseFacts r, string? from, string to, CancellationToken ct)
    {
        var day = IngestBatch.DayOf(r.RespondedAt.ToUnixTimeMilliseconds());
        long top = MetricScales.IsTop(r.Metric, r.Score) ? 1 : 0, bottom = MetricScales.IsBottom(r.Metric, r.Score) ? 1 : 0;
        var old = from ?? "";
        await db.Database.ExecuteSqlAsync(
            $"UPDATE cause_rollups SET n = n - 1, top = top - {top}, bottom = bottom - {bottom} WHERE day = {day} AND site_id = {r.SiteId} AND metric = {r.Metric} AND root_cause = {old}", ct);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO cause_rollups (day, site_id, metric, root_cause, n, top, bottom) VALUES ({day}, {r.SiteId}, {r.Metric}, {to}, 1, {top}, {bottom}) ON CONFLICT (day, site_id, metric, root_cause) DO UPDATE SET n = cause_rollups.n + 1, top = cause_rollups.top + excluded.top, bottom = cause_rollups.bottom + excluded.bottom", ct);

        // The group rollups count only responses with a cause, so a first cause has nothing to take away.
        if (from is not null)
        {
            foreach (var cell in CauseGroupCell.For(day, r.SiteId, r.TeamId, r.AgentId, r.Channel, from))
            {
                await db.Database.ExecuteSqlAsync(
                    $"UPDATE cause_group_rollups SET n = n - 1 WHERE dim = {cell.Dim} AND day = {day} AND site_id = {r.SiteId} AND group_key = {cell.Key} AND root_cause = {from}", ct);
            }
        }
        foreach (var cell in CauseGroupCell.For(day, r.SiteId, r.TeamId, r.AgentId, r.Channel, to))
        {
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO cause_group_rollups (dim, day, site_id, group_key, root_cause, n) VALUES ({cell.Dim}, {day}, {r.SiteId}, {cell.Key}, {to}, 1) ON CONFLICT (dim, day, site_id, group_key, root_cause) DO UPDATE SET n = cause_group_rollups.n + 1", ct);
        }
    }
}

/// <summary>What <see cref="CauseRollup.MoveAsync"/> needs to know of the response whose cause changes.</summary>
public sealed record SurveyResponseCauseFacts(DateTimeOffset RespondedAt, long SiteId, long TeamId, long AgentId, string Channel, string Metric, int Score);
