namespace Closeloop.Insights;

/// <summary>A text labelled with its root cause, from an import, the API, or a supervisor's confirmation.</summary>
public sealed class TrainingExample
{
    public long Id { get; set; }
    public required string Text { get; set; }
    public required string Cause { get; set; }
    public required string Source { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
