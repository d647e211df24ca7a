namespace Closeloop.Ingest;

/// <summary>An issue of a customer and reason as the contact writer reads it.</summary>
internal sealed record IssueRow(long Id, int Count, bool? FirstResolved, IssueCell Cell, long LastAt, long FirstAt);

/// <summary>
/// PostgreSQL: the issues a commit's contacts may touch, read in one statement at its start and kept up to date with
/// what the commit writes, so that chaining a contact asks no round trip of its own. It is complete because of two
/// facts: the commit holds the contact writers' lock, so no other process changes an issue meanwhile; and it holds every
/// issue of the commit's known customers that reaches into the window around any of its contacts (a customer new in
/// the commit has none but those the commit opens). An issue outside that span cannot come into it: only contacts of
/// the commit change issues, and each changes only issues it finds.
/// </summary>
internal sealed class CommitIssues(long windowMs)
{
    private readonly Dictionary<(long CustomerId, string Reason), List<IssueRow>> _issues = [];

    public void Add(long customerId, string reason, IssueRow issue)
    {
        if (!_issues.TryGetValue((customerId, reason), out var list))
        {
            _issues[(customerId, reason)] = list = [];
        }
        list.Add(issue);
    }

    /// <summary>
    /// What the contact writer's query answers (IngestStore.IssuesAroundAsync): the latest issue open within the window
    /// before <paramref name="occurred"/>, and the first that starts within the window after it.
    /// </summary>
    public (IssueRow? Before, IssueRow? After) Around(long customerId, string reason, long occurred)
    {
        IssueRow? before = null, after = null;
        foreach (var issue in _issues.GetValueOrDefault((customerId, reason)) ?? [])
        {
            if (issue.LastAt >= occurred - windowMs && issue.FirstAt <= occurred && (before is null || issue.LastAt > before.LastAt))
            {
                before = issue;
            }
            if (issue.FirstAt > occurred && issue.FirstAt <= occurred + windowMs && (after is null || issue.FirstAt < after.FirstAt))
            {
                after = issue;
            }
        }
        return (before, after);
    }

    /// <summary>Replaces an issue with what the commit made of it, or removes it (merged into another).</summary>
    public void Update(long customerId, string reason, long id, Func<IssueRow, IssueRow?> change)
    {
        var list = _issues[(customerId, reason)];
        var at = list.FindIndex(issue => issue.Id == id);
        if (change(list[at]) is { } changed)
        {
            list[at] = changed;
        }
        else
        {
            list.RemoveAt(at);
        }
    }
}
