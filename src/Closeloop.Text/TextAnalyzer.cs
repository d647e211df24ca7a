namespace Closeloop.Text;

/// <summary>Everything the text of one comment says: sentiment, risk signals and the most likely root cause.</summary>
/// <param name="Sentiment">
/// <see cref="SentimentScores.Compound"/> is the <see cref="SentimentModel"/> score; the three proportions are VADER's.
/// </param>
/// <param name="LexiconCompound">VADER's own compound, which the model starts from.</param>
public sealed record TextAnalysis(SentimentScores Sentiment, IReadOnlyList<string> Signals, CausePrediction? RootCause, double LexiconCompound = 0);

/// <summary>Runs sentiment, signal detection and root-cause classification over a comment in one call.</summary>
public sealed class TextAnalyzer
{
    private static readonly TextAnalysis Empty = new(default, [], null);
    private readonly RootCauseClassifier classifier;
    private readonly SentimentAnalyzer sentiment;
    private readonly SentimentModel model;
    private readonly SignalDetector signals;

    public TextAnalyzer(RootCauseClassifier classifier)
        : this(classifier, SentimentAnalyzer.Default, SentimentModel.Default, SignalDetector.Default)
    {
    }

    public TextAnalyzer(RootCauseClassifier classifier, SentimentAnalyzer sentiment, SentimentModel model, SignalDetector signals)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(sentiment);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(signals);
        this.classifier = classifier;
        this.sentiment = sentiment;
        this.model = model;
        this.signals = signals;
    }

    /// <summary>Analyses <paramref name="text"/>; a null or blank comment gives neutral scores, no signals and no cause.</summary>
    public TextAnalysis Analyze(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return Empty;
        var vader = sentiment.Analyze(text);

        // The sentiment model and the classifier read the same features, so they are extracted once.
        var (hashes, values, count) = TextFeatures.ExtractThreadLocal(text);
        var score = model.Score(hashes.AsSpan(0, count), values.AsSpan(0, count), vader.Compound);
        var cause = classifier.Predict(text, hashes.AsSpan(0, count), values.AsSpan(0, count));
        return new TextAnalysis(vader with { Compound = score }, signals.Detect(text), cause, vader.Compound);
    }
}
