namespace Closeloop.Text.Bench;

/// <summary>
/// How the sentiment model (<see cref="SentimentModel"/>: VADER's compound plus a ridge regression on hashed words and
/// character grams, fitted on human ratings) does on text it was not fitted on, beyond the held-out half that the
/// shipped model leaves aside: 10-fold cross-validation within each set, and fitted on one set, scored on the other.
/// Every figure is computed on predictions for rows the model being scored never saw.
/// </summary>
internal static class SentimentCrossValidation
{
    private const int Folds = 10;

    public static IReadOnlyList<(string Set, double VaderR, double HeldOutR)> Run(IReadOnlyList<RatedText> tweets, IReadOnlyList<RatedText> snippets) =>
    [
        Evaluate("tweets", tweets),
        Evaluate("Amazon review snippets", snippets),
    ];

    /// <summary>
    /// Fitted on one set, scored on the other: how the model carries to text unlike what it was fitted on, which is
    /// what a contact centre's comments are.
    /// </summary>
    public static IReadOnlyList<(string Train, string Test, double VaderR, double TransferR)> CrossDomain(IReadOnlyList<RatedText> tweets, IReadOnlyList<RatedText> snippets)
    {
        (string, string, double, double) Score(string trainName, IReadOnlyList<RatedText> train, string testName, IReadOnlyList<RatedText> test)
        {
            var model = Fit(train);
            var truth = test.Select(e => e.Score).ToList();
            return (trainName, testName, Metrics.Pearson(test.Select(Vader).ToList(), truth), Metrics.Pearson(test.Select(r => model.Score(r.Text, Vader(r))).ToList(), truth));
        }
        return [Score("tweets", tweets, "Amazon review snippets", snippets), Score("Amazon review snippets", snippets, "tweets", tweets)];
    }

    private static (string, double, double) Evaluate(string name, IReadOnlyList<RatedText> rows)
    {
        var heldOut = new double[rows.Count];
        for (var fold = 0; fold < Folds; fold++)
        {
            var model = Fit(rows.Where((_, i) => i % Folds != fold).ToList());
            for (var i = fold; i < rows.Count; i += Folds)
                heldOut[i] = model.Score(rows[i].Text, Vader(rows[i]));
        }

        var truth = rows.Select(r => r.Score).ToList();
        return (name, Metrics.Pearson(rows.Select(Vader).ToList(), truth), Metrics.Pearson(heldOut, truth));
    }

    private static SentimentModel Fit(IEnumerable<RatedText> rows) => SentimentModel.Fit(rows.Select(r => (r.Text, r.Score)), SentimentAnalyzer.Default);

    private static double Vader(RatedText row) => SentimentAnalyzer.Default.Analyze(row.Text).Compound;
}
