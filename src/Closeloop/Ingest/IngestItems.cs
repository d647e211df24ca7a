namespace Closeloop.Ingest;

/// <summary>What text analytics found in a comment or summary, computed before the write so the writer only writes.</summary>
public sealed record TextFindings(double Sentiment, IReadOnlyList<string> Signals, string? RootCause, double? RootCauseConfidence)
{
    public string? SignalsText => Signals.Count == 0 ? null : string.Join(',', Signals);

    /// <summary>
    /// The sentences of a survey comment that state a preference (<see cref="Customers.FeedbackPreferences"/>), found
    /// with the rest of the analysis on the request's thread (<c>AnalyzeComment</c>), so the single writer only stores them.
    /// </summary>
    public IReadOnlyList<string> Preferences { get; init; } = [];
}

public abstract record IngestItem(string ExternalId, byte[] ContentHash, TextFindings? Findings);

public sealed record ContactItem(ContactInput Input, TextFindings? Findings)
    : IngestItem(Input.ExternalId, Input.ContentHash(), Findings);

public sealed record ResponseItem(ResponseInput Input, TextFindings? Findings)
    : IngestItem(Input.ExternalId, Input.ContentHash(), Findings);

public enum IngestStatus
{
    Created,
    Existing,
    Conflict,
    Invalid,

    /// <summary>The record is of a site the caller may not see or write: answered as if it did not exist.</summary>
    NotFound,
}

/// <summary>The result for one item: its stored id, or why it was refused.</summary>
public sealed record IngestOutcome(IngestStatus Status, long Id, Dictionary<string, string[]>? Errors = null)
{
    /// <summary>What the writer stored (a <see cref="StoredContact"/> or <see cref="StoredResponse"/>), for answering without reading it back.</summary>
    public object? Stored { get; init; }

    public DateTimeOffset ReceivedAt { get; init; }

    public static IngestOutcome Invalid(string field, string message) =>
        new(IngestStatus.Invalid, 0, new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] });

    public static IngestOutcome NotFound(string field, string message) =>
        new(IngestStatus.NotFound, 0, new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] });
}

/// <summary>The site a caller is confined to, if any. Null means every site.</summary>
public sealed record WriteScope(long? SiteId, string? SiteCode)
{
    public static readonly WriteScope Unrestricted = new(null, null);
}
