namespace Closeloop.Text.Bench;

/// <summary>
/// A spike: can a small model fitted on the human ratings beat VADER? Ridge regression, by SGD, of the human mean on
/// VADER's compound plus hashed words and character grams (the classifier's features). Reported only as held-out
/// figures from 10-fold cross-validation within each set; nothing fitted here ships in the library.
/// </summary>
internal static class SentimentCrossValidation
{
    private const int Folds = 10;
    private const int Buckets = 1 << 18;
    private const int Epochs = 8;
    private const double LearningRate = 0.05;
    private const double L2 = 1e-5;

    public static IReadOnlyList<(string Set, double VaderR, double HeldOutR)> Run(IReadOnlyList<RatedText> tweets, IReadOnlyList<RatedText> snippets) =>
    [
        Evaluate("tweets", tweets),
        Evaluate("Amazon review snippets", snippets),
    ];

    /// <summary>
    /// Fitted on one set, scored on the other: how the residual carries to text unlike what it was fitted on, which
    /// is what a contact centre's comments would be.
    /// </summary>
    public static IReadOnlyList<(string Train, string Test, double VaderR, double TransferR)> CrossDomain(IReadOnlyList<RatedText> tweets, IReadOnlyList<RatedText> snippets)
    {
        var t = tweets.Select(Encode).ToList();
        var s = snippets.Select(Encode).ToList();
        (string, string, double, double) Score(string trainName, List<Encoded> train, string testName, List<Encoded> test)
        {
            var model = Fit(train);
            var truth = test.Select(e => e.Target).ToList();
            return (trainName, testName, Metrics.Pearson(test.Select(e => e.Compound).ToList(), truth), Metrics.Pearson(test.Select(model.Predict).ToList(), truth));
        }
        return [Score("tweets", t, "Amazon review snippets", s), Score("Amazon review snippets", s, "tweets", t)];
    }

    private static (string, double, double) Evaluate(string name, IReadOnlyList<RatedText> rows)
    {
        var encoded = rows.Select(Encode).ToList();
        var heldOut = new double[rows.Count];
        for (var fold = 0; fold < Folds; fold++)
        {
            var model = Fit(encoded.Where((_, i) => i % Folds != fold).ToList());
            for (var i = fold; i < rows.Count; i += Folds)
                heldOut[i] = model.Predict(encoded[i]);
        }

        var truth = rows.Select(r => r.Score).ToList();
        return (name, Metrics.Pearson(encoded.Select(e => e.Compound).ToList(), truth), Metrics.Pearson(heldOut, truth));
    }

    private static Encoded Encode(RatedText row)
    {
        var hashes = new ulong[TextFeatures.MaxFeatures(row.Text.Length)];
        var values = new float[hashes.Length];
        var count = TextFeatures.Extract(row.Text, hashes, values);
        var buckets = hashes.Take(count).Select(h => (int)(h >> 46)).ToArray();
        return new Encoded(buckets, values[..count], SentimentAnalyzer.Default.Analyze(row.Text).Compound, row.Score / 4.0);
    }

    private static Model Fit(IReadOnlyList<Encoded> train)
    {
        var model = new Model(new double[Buckets]);
        var random = new Random(14);
        var order = Enumerable.Range(0, train.Count).ToArray();
        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = LearningRate / (1 + epoch);
            foreach (var index in order)
            {
                var e = train[index];
                var error = model.Predict(e) - e.Target;
                model.CompoundWeight -= rate * ((error * e.Compound) + (L2 * model.CompoundWeight));
                model.Bias -= rate * error;
                for (var i = 0; i < e.Buckets.Length; i++)
                    model.Weights[e.Buckets[i]] -= rate * ((error * e.Values[i]) + (L2 * model.Weights[e.Buckets[i]]));
            }
        }

        return model;
    }

    private sealed record Encoded(int[] Buckets, float[] Values, double Compound, double Target);

    private sealed class Model(double[] weights)
    {
        public double[] Weights { get; } = weights;

        public double CompoundWeight { get; set; } = 0.5;

        public double Bias { get; set; }

        public double Predict(Encoded e)
        {
            var sum = Bias + (CompoundWeight * e.Compound);
            for (var i = 0; i < e.Buckets.Length; i++)
                sum += Weights[e.Buckets[i]] * e.Values[i];
            return sum;
        }
    }
}
