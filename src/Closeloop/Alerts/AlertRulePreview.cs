using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Alerts;

public sealed record RulePreviewExample(string ExternalId, string Customer, string Metric, int Score, string? Comment, DateTimeOffset RespondedAt, string? Site, string? Team);

public sealed record RulePreview(int Matched, int Total, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<RulePreviewExample> Examples);

/// <summary>
/// How many of the last week's responses a rule would have matched, before it is saved. It builds each stored
/// response's facts with <see cref="AlertFacts.ForResponse"/> and runs the rule's compiled condition, the same two
/// steps the engine takes on ingest, so the preview cannot drift from what the rule will do.
/// </summary>
public static class AlertRulePreview
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(7);

    public const int ExampleCount = 5;

    public static async Task<RulePreview> RunAsync(CloseloopDb db, AlertRuleDefinition rule, DateTimeOffset now, CancellationToken ct)
    {
        var since = now - Window;
        // The customer's tier is today's (tiers keep no history); everything else is as it was stored.
        var rows = from r in db.Responses.AsNoTracking()
                   where r.RespondedAt >= since && r.RespondedAt <= now
                   join cu in db.Customers on r.CustomerId equals cu.Id
                   join c in db.Contacts on r.ContactId equals (long?)c.Id into contacts
                   from c in contacts.DefaultIfEmpty()
                   join s in db.Sites on r.SiteId equals s.Id into sites
                   from s in sites.DefaultIfEmpty()
                   join t in db.Teams on r.TeamId equals t.Id into teams
                   from t in teams.DefaultIfEmpty()
                   join a in db.Agents on r.AgentId equals a.Id into agents
                   from a in agents.DefaultIfEmpty()
                   orderby r.RespondedAt descending, r.Id descending
                   select new
                   {
                       r.ExternalId, Customer = cu.ExternalId, cu.Tier, r.Metric, r.Score, r.Comment, r.Sentiment, r.Signals, r.RootCause, r.Channel, r.RespondedAt,
                       Site = s.Code, Team = t.Code, Agent = a.Code, Queue = c.Queue, Reason = c.Reason, Resolved = c.Resolved, Gap = c.RepeatGapMs,
                   };
        var matched = 0;
        var total = 0;
        var examples = new List<RulePreviewExample>(ExampleCount);
        // Streamed: a week of a large contact center does not fit in memory at once, and only the count is kept.
        await foreach (var row in rows.AsAsyncEnumerable().WithCancellation(ct))
        {
            total++;
            var facts = AlertFacts.ForResponse(row.Metric, row.Score, row.Sentiment, row.Comment,
                string.IsNullOrEmpty(row.Signals) ? [] : row.Signals.Split(','), row.Tier, row.Gap, row.Resolved, row.Channel,
                row.Site, row.Team, row.Agent, row.Queue, row.Reason, row.RootCause);
            if (!rule.Matches(facts))
            {
                continue;
            }
            matched++;
            if (examples.Count < ExampleCount)
            {
                examples.Add(new RulePreviewExample(row.ExternalId, row.Customer, row.Metric, row.Score, row.Comment, row.RespondedAt, row.Site, row.Team));
            }
        }
        return new RulePreview(matched, total, since, now, examples);
    }
}
