namespace Closeloop.Text;

/// <summary>Everything the text of one comment says: sentiment, risk signals and the most likely root cause.</summary>
public sealed record TextAnalysis(SentimentScores Sentiment, IReadOnlyList<string> Signals, CausePrediction? RootCause);

/// <summary>Runs sentiment, signal detection and root-cause classification over a comment in one call.</summary>
public sealed class TextAnalyzer
{
    private static readonly TextAnalysis Empty = new(default, [], null);
    private readonly RootCauseClassifier classifier;
    private readonly SentimentAnalyzer sentiment;
    private readonly SignalDetector signals;

    public TextAnalyzer(RootCauseClassifier classifier)
        : this(classifier, SentimentAnalyzer.Default, SignalDetector.Default)
    {
    }

    public TextAnalyzer(RootCauseClassifier classifier, SentimentAnalyzer sentiment, SignalDetector signals)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(sentiment);
        ArgumentNullException.ThrowIfNull(signals);
        this.classifier = classifier;
        this.sentiment = sentiment;
        this.signals = signals;
    }

    /// <summary>Analyses <paramref name="text"/>; a null or blank comment gives neutral scores, no signals and no cause.</summary>
    public TextAnalysis Analyze(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return Empty;
        return new TextAnalysis(sentiment.Analyze(text), signals.Detect(text), classifier.Predict(text));
    }
}
