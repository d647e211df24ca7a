using Xunit;

namespace Closeloop.Text.Tests;

public class RootCauseClassifierTests
{
    private static readonly CauseDefinition[] SmallTaxonomy =
    [
        new("process.long-wait", ["on hold", "waited"]),
        new("billing.fees", ["fee", "fees"]),
        new("product.defect", ["broken", "crash*"]),
    ];

    // Teaching one cause must not unlearn the others: a supervisor who labels thirty comments about the app must
    // not make the classifier forget double charges and rude agents, which only the taxonomy's keywords know.
    [Fact]
    public void TeachingOneCauseKeepsTheOthersItsKeywordsKnow()
    {
        using var classifier = new RootCauseClassifier(DefaultTaxonomy.Causes);
        string[] probes =
        [
            "I was charged twice, double charge on my card",
            "The agent was rude and dismissive",
            "package delayed, tracking says in transit for a week",
            "The IVR menu kept looping",
            "Waited 40 minutes on hold before anyone answered",
        ];
        var before = probes.Select(p => classifier.Predict(p)?.Code).ToList();
        Assert.All(before, code => Assert.NotNull(code));

        string[] things = ["The app", "The website", "The online portal", "My online account page", "The checkout page", "The mobile app"];
        string[] faults = ["crashes every time", "froze when I tried to pay", "keeps failing to log me in", "shows an error message", "will not load at all"];
        classifier.Train(things.SelectMany(t => faults.Select(f => ($"{t} {f}", "channel.digital-self-service"))).ToList());

        Assert.Equal(before, probes.Select(p => classifier.Predict(p)?.Code).ToList());
        Assert.Equal("channel.digital-self-service", classifier.Predict("the website crashes when I try to pay")?.Code);
    }

    [Fact]
    public void KeywordsAloneGiveAModestConfidence()
    {
        using var classifier = new RootCauseClassifier(DefaultTaxonomy.Causes);
        var prediction = classifier.Predict("I was on hold for an hour before anyone answered");
        Assert.NotNull(prediction);
        Assert.Equal("process.long-wait", prediction.Value.Code);
        Assert.InRange(prediction.Value.Confidence, 0.5, 0.8);
    }

    [Fact]
    public void PrefixKeywordsMatchWordEndings()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        Assert.Equal("product.defect", classifier.Predict("the app crashes every time")?.Code);
    }

    [Fact]
    public void NothingKnownIsUnclassified()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        Assert.Null(classifier.Predict("the weather is nice today"));
        Assert.Empty(classifier.Rank("the weather is nice today"));
    }

    [Fact]
    public void AmbiguousKeywordsFallBelowTheThreshold()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        Assert.Null(classifier.Predict("I waited and paid a fee"));
        Assert.Equal(2, classifier.Rank("I waited and paid a fee", top: 2).Count);
    }

    [Fact]
    public void LearnChangesThePredictionAtOnce()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        const string text = "the screen went black after the update";
        Assert.Null(classifier.Predict(text));

        classifier.Learn(text, "product.defect");

        Assert.Equal(1, classifier.ExampleCount);
        Assert.Equal("product.defect", classifier.Predict(text)?.Code);
    }

    [Fact]
    public void LearnedExampleOverridesAKeywordRule()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        const string text = "the fee page is broken";
        classifier.Learn(text, "billing.fees");
        Assert.Equal("billing.fees", classifier.Predict(text)?.Code);
    }

    [Fact]
    public void LearnedExamplesGeneraliseToSimilarText()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        classifier.Train(
        [
            ("my parcel never showed up", "logistics.lost-item"),
            ("the parcel was lost by the courier", "logistics.lost-item"),
            ("charged a monthly account fee", "billing.fees"),
            ("there is a fee on every transfer", "billing.fees"),
        ]);
        Assert.Equal("logistics.lost-item", classifier.Rank("courier lost my parcel", top: 1)[0].Code);
    }

    [Fact]
    public void ThresholdDecidesWhatIsUnclassified()
    {
        using var strict = new RootCauseClassifier(SmallTaxonomy, threshold: 0.95);
        using var lenient = new RootCauseClassifier(SmallTaxonomy, threshold: 0.3);
        Assert.Null(strict.Predict("I waited for ages"));
        Assert.NotNull(lenient.Predict("I waited for ages"));
    }

    [Fact]
    public void CausesCanBeAddedAndRemovedAtRunTime()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        classifier.SetTaxonomy([.. SmallTaxonomy, new CauseDefinition("channel.ivr-maze", ["press 1"])]);
        Assert.Equal("channel.ivr-maze", classifier.Predict("the menu said press 1 forever")?.Code);

        classifier.SetTaxonomy(SmallTaxonomy.Where(c => c.Code != "billing.fees"));
        Assert.DoesNotContain(classifier.Rank("a fee and more fees", top: 10), p => p.Code == "billing.fees");
    }

    [Fact]
    public void RankIsSortedAndProbabilitiesSumToAtMostOne()
    {
        using var classifier = new RootCauseClassifier(DefaultTaxonomy.Causes);
        var ranked = classifier.Rank("I was on hold forever and then charged a fee", top: 17);
        Assert.Equal(ranked.OrderByDescending(p => p.Confidence), ranked);
        Assert.InRange(ranked.Sum(p => p.Confidence), 0.99, 1.01);
    }

    [Fact]
    public async Task PredictIsSafeWhileLearnRuns()
    {
        using var classifier = new RootCauseClassifier(SmallTaxonomy);
        var texts = BankingSubset.Train.Take(300).ToList();
        using var stop = new CancellationTokenSource();
        using var readersStarted = new CountdownEvent(4);
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            var predictions = 0;
            readersStarted.Signal();
            do
            {
                foreach (var (text, _) in texts.Take(20))
                {
                    var p = classifier.Predict(text);
                    if (p is { } prediction)
                        Assert.InRange(prediction.Confidence, 0.0, 1.0);
                    predictions++;
                }
            }
            while (!stop.IsCancellationRequested);

            return predictions;
        })).ToList();

        // Learn only once every reader is predicting, so the two really overlap.
        readersStarted.Wait();
        foreach (var (text, label) in texts)
            classifier.Learn(text, label);
        await stop.CancelAsync();
        var counts = await Task.WhenAll(readers);

        Assert.All(counts, c => Assert.True(c > 0));
        Assert.Equal(texts.Count, classifier.ExampleCount);
        Assert.Equal(texts[^1].Label, classifier.Predict(texts[^1].Text)?.Code);
    }

    [Fact]
    public void ReachesGoodAccuracyOnABanking77Subset()
    {
        var taxonomy = BankingSubset.Train.Select(e => e.Label).Distinct().Select(code => new CauseDefinition(code, []));
        using var classifier = new RootCauseClassifier(taxonomy, threshold: 0);
        classifier.Train(BankingSubset.Train);

        var correct = BankingSubset.Test.Count(e => classifier.Predict(e.Text)?.Code == e.Label);
        var accuracy = correct / (double)BankingSubset.Test.Count;
        Assert.True(accuracy >= 0.85, $"accuracy {accuracy:F3}");
    }
}
