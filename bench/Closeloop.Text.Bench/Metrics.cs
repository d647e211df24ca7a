namespace Closeloop.Text.Bench;

internal static class Metrics
{
    public static double Pearson(IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        var n = xs.Count;
        double mx = xs.Average(), my = ys.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            double dx = xs[i] - mx, dy = ys[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }

        return sxy / Math.Sqrt(sxx * syy);
    }

    public static double Accuracy(IReadOnlyList<string> truth, IReadOnlyList<string?> predicted) =>
        truth.Zip(predicted).Count(p => p.First == p.Second) / (double)truth.Count;

    /// <summary>Unweighted mean of per-label F1 over the labels of the test set; "unclassified" counts as wrong.</summary>
    public static double MacroF1(IReadOnlyList<string> truth, IReadOnlyList<string?> predicted)
    {
        var labels = truth.Distinct().ToList();
        var sum = 0.0;
        foreach (var label in labels)
        {
            int tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < truth.Count; i++)
            {
                var isTrue = truth[i] == label;
                var isPredicted = predicted[i] == label;
                if (isTrue && isPredicted)
                    tp++;
                else if (isPredicted)
                    fp++;
                else if (isTrue)
                    fn++;
            }

            var precision = tp + fp == 0 ? 0 : tp / (double)(tp + fp);
            var recall = tp + fn == 0 ? 0 : tp / (double)(tp + fn);
            sum += precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        }

        return sum / labels.Count;
    }
}
