namespace Closeloop.Responses;

/// <summary>An answer to a post-contact survey: one metric, one score, and what the customer wrote.</summary>
public sealed class SurveyResponse
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public byte[] ContentHash { get; set; } = [];
    public long CustomerId { get; set; }
    public required string Metric { get; set; }
    public int Score { get; set; }
    public string? Comment { get; set; }
    public DateTimeOffset RespondedAt { get; set; }
    public long? ContactId { get; set; }
    public long SiteId { get; set; }
    public long TeamId { get; set; }
    public long AgentId { get; set; }
    public required string Channel { get; set; }
    public double? Sentiment { get; set; }
    public string? Signals { get; set; }
    public string? RootCause { get; set; }
    public double? RootCauseConfidence { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}

/// <summary>The three survey scales and how the industry reads each score.</summary>
public static class MetricScales
{
    public const string Csat = "csat";
    public const string Nps = "nps";
    public const string Ces = "ces";

    public static bool IsKnown(string metric) => metric is Csat or Nps or Ces;

    public static (int Min, int Max) Scale(string metric) => metric switch
    {
        Csat => (1, 5),
        Nps => (0, 10),
        Ces => (1, 7),
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
    };

    /// <summary>The "good" end: CSAT top-two box (4–5), NPS promoters (9–10), CES agreement (5–7).</summary>
    public static bool IsTop(string metric, int score) => metric switch
    {
        Csat => score >= 4,
        Nps => score >= 9,
        Ces => score >= 5,
        _ => false,
    };

    /// <summary>The "bad" end: CSAT 1–2, NPS detractors (0–6), CES 1–3.</summary>
    public static bool IsBottom(string metric, int score) => metric switch
    {
        Csat => score <= 2,
        Nps => score <= 6,
        Ces => score <= 3,
        _ => false,
    };
}
