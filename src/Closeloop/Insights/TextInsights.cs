using Closeloop.Ingest;
using Closeloop.Text;

namespace Closeloop.Insights;

/// <summary>
/// Sentiment, signals and root cause of what a customer wrote, computed in the request thread before the record
/// is queued, so the single writer only writes. One classifier serves the process and learns as causes are confirmed.
/// </summary>
public sealed class TextInsights : IDisposable
{
    private readonly RootCauseClassifier _classifier = new(DefaultTaxonomy.Causes);
    private readonly TextAnalyzer _analyzer;

    public TextInsights() => _analyzer = new TextAnalyzer(_classifier);

    public RootCauseClassifier Classifier => _classifier;

    public TextFindings? Analyze(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var analysis = _analyzer.Analyze(text);
        return new TextFindings(analysis.Sentiment.Compound, analysis.Signals, analysis.RootCause?.Code, analysis.RootCause?.Confidence);
    }

    public void Dispose() => _classifier.Dispose();
}
