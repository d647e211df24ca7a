using Closeloop.Alerts;
using Closeloop.Data;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Ingest;

public sealed record CustomerRef(string ExternalId);

public sealed record SentimentView(double Compound);

public sealed record RootCauseView(string Code, double Confidence);

/// <summary>What text analytics found: <c>sentiment.compound</c> from −1 to +1, <c>signals</c>, and the predicted <c>rootCause</c>.</summary>
public sealed record AnalysisView(SentimentView Sentiment, IReadOnlyList<string> Signals, RootCauseView? RootCause)
{
    /// <summary>
    /// A record without text (a score alone, a contact without a summary) reads as neutral, compound 0, as VADER
    /// scores an empty text: the contract gives <c>analysis.sentiment.compound</c> for every record, and only the root
    /// cause may be null.
    /// </summary>
    public static AnalysisView From(double? sentiment, string? signals, string? rootCause, double? confidence) => new(
        new SentimentView(Math.Round(sentiment ?? 0, 4)),
        string.IsNullOrEmpty(signals) ? [] : signals.Split(','),
        rootCause is null ? null : new RootCauseView(rootCause, Math.Round(confidence ?? 0, 4)));
}

public sealed record IssueView(long Id, int ContactCount, DateTimeOffset FirstAt);

public sealed record ContactView(
    string ExternalId, CustomerRef Customer, string Channel, DateTimeOffset OccurredAt, string? Site, string? Team, string? Agent,
    string? Queue, string? Reason, int? WaitSeconds, int? Transfers, bool? Resolved, string? Summary, IssueView? Issue,
    AnalysisView Analysis, DateTimeOffset ReceivedAt);

public sealed record ResponseView(
    string ExternalId, CustomerRef Customer, string Metric, int Score, string? Comment, DateTimeOffset RespondedAt,
    string? ContactExternalId, string? Site, string? Team, string? Agent, string Channel, AnalysisView Analysis, DateTimeOffset ReceivedAt);

/// <summary>Reads one contact or response as the API shows it, within the caller's site scope.</summary>
public static class RecordViews
{
    /// <summary>
    /// The view of a record the writer has just created, built from what it wrote: reading it back through EF Core
    /// cost more than the write itself (see docs/benchmarks.md). A test checks both paths give the same JSON.
    /// Null for a contact that joined an earlier issue when the caller is confined to a site: the issue may hold
    /// other sites' contacts, and only the read (<see cref="ContactAsync"/>) counts the caller's part of it.
    /// </summary>
    public static object? FromStored(object? stored, DateTimeOffset receivedAt, bool siteScoped) => stored switch
    {
        StoredContact { IssueContactCount: > 1 } when siteScoped => null,
        StoredResponse r => new ResponseView(r.Input.ExternalId, new CustomerRef(r.Input.Customer.ExternalId), r.Input.Metric, r.Input.Score, r.Input.Comment,
            DateTimeOffset.FromUnixTimeMilliseconds(r.RespondedAtMs), r.Input.ContactExternalId, r.SiteCode, r.TeamCode, r.AgentCode, r.Channel,
            AnalysisView.From(r.Findings?.Sentiment, r.Findings?.SignalsText, r.Findings?.RootCause, r.Findings?.RootCauseConfidence), receivedAt),
        StoredContact c => new ContactView(c.Input.ExternalId, new CustomerRef(c.Input.Customer.ExternalId), c.Input.Channel, c.Input.OccurredAt, c.SiteCode,
            c.Input.Team, c.Input.Agent, c.Input.Queue, c.Input.Reason, c.Input.WaitSeconds, c.Input.Transfers, c.Input.Resolved, c.Input.Summary,
            c.IssueId is { } issue ? new IssueView(issue, c.IssueContactCount, DateTimeOffset.FromUnixTimeMilliseconds(c.IssueFirstAtMs)) : null,
            AnalysisView.From(c.Findings?.Sentiment, c.Findings?.SignalsText, c.Findings?.RootCause, c.Findings?.RootCauseConfidence), receivedAt),
        _ => null,
    };

    public static async Task<ContactView?> ContactAsync(CloseloopDb db, CallerScope scope, string? externalId, long? id, CancellationToken ct)
    {
        var query = db.Contacts.AsNoTracking();
        query = id is not null ? query.Where(c => c.Id == id) : query.Where(c => c.ExternalId == externalId);
        if (scope.SiteId is { } site)
        {
            query = query.Where(c => c.SiteId == site);
        }
        if (scope.RecoveryOwner is { } owner)
        {
            var theirs = AlertViews.CustomersOf(db, owner);
            query = query.Where(c => theirs.Contains(c.CustomerId));
        }
        var row = await query.Select(c => new
        {
            Contact = c,
            Customer = db.Customers.Where(x => x.Id == c.CustomerId).Select(x => x.ExternalId).First(),
            Site = db.Sites.Where(x => x.Id == c.SiteId).Select(x => x.Code).FirstOrDefault(),
            Team = db.Teams.Where(x => x.Id == c.TeamId).Select(x => x.Code).FirstOrDefault(),
            Agent = db.Agents.Where(x => x.Id == c.AgentId).Select(x => x.Code).FirstOrDefault(),
        }).FirstOrDefaultAsync(ct);
        if (row is null)
        {
            return null;
        }
        var c = row.Contact;
        // The issue is read by its key in a query of its own: projected inside the query above, EF Core turns the
        // FirstOrDefault into a ROW_NUMBER() window over the whole issues table, 24 ms a contact on a month of demo
        // data and growing without bound (docs/benchmarks.md, F1).
        var issue = c.IssueId is { } issueId
            ? await db.Issues.AsNoTracking().Where(i => i.Id == issueId).Select(i => new IssueView(i.Id, i.ContactCount, i.FirstAt)).FirstOrDefaultAsync(ct)
            : null;
        if (issue is not null && scope.SiteId is { } own)
        {
            // An issue chains a customer's contacts across sites (a repeat at another vendor still means the first
            // contact did not resolve it), but a site sees only its own part of it: another vendor's contacts must
            // not show in its count or its first time.
            var mine = await db.Contacts.AsNoTracking().Where(x => x.IssueId == issue.Id && x.SiteId == own)
                .GroupBy(x => x.IssueId).Select(g => new { Count = g.Count(), First = g.Min(x => x.OccurredAt) }).FirstAsync(ct);
            issue = issue with { ContactCount = mine.Count, FirstAt = mine.First };
        }
        return new ContactView(c.ExternalId, new CustomerRef(row.Customer), c.Channel, c.OccurredAt, row.Site, row.Team, row.Agent, c.Queue, c.Reason,
            c.WaitSeconds, c.Transfers, c.Resolved, c.Summary, issue, AnalysisView.From(c.Sentiment, c.Signals, c.RootCause, c.RootCauseConfidence), c.ReceivedAt);
    }

    public static async Task<ResponseView?> ResponseAsync(CloseloopDb db, CallerScope scope, string? externalId, long? id, CancellationToken ct)
    {
        var query = db.Responses.AsNoTracking();
        query = id is not null ? query.Where(r => r.Id == id) : query.Where(r => r.ExternalId == externalId);
        if (scope.SiteId is { } site)
        {
            query = query.Where(r => r.SiteId == site);
        }
        if (scope.RecoveryOwner is { } owner)
        {
            var theirs = AlertViews.CustomersOf(db, owner);
            query = query.Where(r => theirs.Contains(r.CustomerId));
        }
        var row = await query.Select(r => new
        {
            Response = r,
            Customer = db.Customers.Where(x => x.Id == r.CustomerId).Select(x => x.ExternalId).First(),
            Contact = db.Contacts.Where(x => x.Id == r.ContactId).Select(x => x.ExternalId).FirstOrDefault(),
            Site = db.Sites.Where(x => x.Id == r.SiteId).Select(x => x.Code).FirstOrDefault(),
            Team = db.Teams.Where(x => x.Id == r.TeamId).Select(x => x.Code).FirstOrDefault(),
            Agent = db.Agents.Where(x => x.Id == r.AgentId).Select(x => x.Code).FirstOrDefault(),
        }).FirstOrDefaultAsync(ct);
        if (row is null)
        {
            return null;
        }
        var r = row.Response;
        return new ResponseView(r.ExternalId, new CustomerRef(row.Customer), r.Metric, r.Score, r.Comment, r.RespondedAt, row.Contact, row.Site, row.Team,
            row.Agent, r.Channel, AnalysisView.From(r.Sentiment, r.Signals, r.RootCause, r.RootCauseConfidence), r.ReceivedAt);
    }
}
