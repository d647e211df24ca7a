namespace Closeloop.Metrics;

/// <summary>Counts per UTC day and organisation cell, updated in the ingest transaction.</summary>
public sealed class ResponseRollup
{
    public long Day { get; set; }
    public long SiteId { get; set; }
    public long TeamId { get; set; }
    public required string Channel { get; set; }
    public required string Metric { get; set; }
    public long N { get; set; }
    public long Top { get; set; }
    public long Bottom { get; set; }
    public long ScoreSum { get; set; }
}

public sealed class IssueRollup
{
    public long Day { get; set; }
    public long SiteId { get; set; }
    public long TeamId { get; set; }
    public required string Channel { get; set; }
    public long Issues { get; set; }
    public long Fcr { get; set; }
}
