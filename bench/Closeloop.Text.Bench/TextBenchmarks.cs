using BenchmarkDotNet.Attributes;

namespace Closeloop.Text.Bench;

/// <summary>Per-call cost of each part, averaged over the same 10,000 comments as the throughput mode.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class TextBenchmarks
{
    private IReadOnlyList<string> comments = [];
    private IReadOnlyList<string> bankingTest = [];
    private RootCauseClassifier banking77 = null!;
    private TextAnalyzer analyzer = null!;

    [GlobalSetup]
    public void Setup()
    {
        var data = DataSets.Locate(null);
        comments = data.ThroughputComments();
        bankingTest = data.Banking77("test").Select(e => e.Text).ToList();
        banking77 = Evaluation.Train(data.Banking77("train"), threshold: 0.5);
        analyzer = new TextAnalyzer(banking77);
    }

    [GlobalCleanup]
    public void Cleanup() => banking77.Dispose();

    [Benchmark(OperationsPerInvoke = 10_000)]
    public double Sentiment()
    {
        var sum = 0.0;
        foreach (var c in comments)
            sum += SentimentAnalyzer.Default.Analyze(c).Compound;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public double SentimentShippedScore()
    {
        var sum = 0.0;
        foreach (var c in comments)
            sum += SentimentModel.Default.Score(c, SentimentAnalyzer.Default.Analyze(c).Compound);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int Signals()
    {
        var sum = 0;
        foreach (var c in comments)
            sum += SignalDetector.Default.Detect(c).Count;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = 3_080)]
    public double PredictCause77Classes()
    {
        var sum = 0.0;
        foreach (var c in bankingTest)
            sum += banking77.Predict(c)?.Confidence ?? 0;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public int AnalyzeComment()
    {
        var sum = 0;
        foreach (var c in comments)
            sum += analyzer.Analyze(c).Signals.Count;
        return sum;
    }
}
