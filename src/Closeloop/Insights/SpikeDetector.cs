namespace Closeloop.Insights;

/// <summary>How the spike detector decides; every figure can be set under <c>Insights:Spikes</c> in the configuration.</summary>
public sealed record SpikeSettings
{
    /// <summary>How many earlier 24-hour windows make the baseline.</summary>
    public int HistoryWindows { get; init; } = 28;

    /// <summary>The smoothing of the EWMA baseline: the weight of the most recent window.</summary>
    public double Smoothing { get; init; } = 0.2;

    /// <summary>The Poisson tail probability below which a count is a rise (one false alarm per cause in ~3 years at 0.001).</summary>
    public double Significance { get; init; } = 0.001;

    /// <summary>Fewer occurrences than this are never a rise, however quiet the cause was.</summary>
    public int MinCount { get; init; } = 5;

    /// <summary>The count must also be this many times the baseline, so a busy cause's ordinary Monday is not a rise.</summary>
    public double MinRatio { get; init; } = 1.5;

    /// <summary>The lowest baseline rate a cause is given per window, so a cause that was silent does not fire on its first few mentions.</summary>
    public double FloorRate { get; init; } = 0.5;

    /// <summary>How much history the data must hold before any cause is judged (a new install has no normal level yet).</summary>
    public int MinHistoryWindows { get; init; } = 7;
}

/// <summary>The decision about one cause's latest window.</summary>
public readonly record struct SpikeVerdict(bool Rise, long Observed, double Expected, double PValue, double Dispersion = 1);

/// <summary>
/// Detects a rise of a cause above its normal rate. The baseline is an exponentially weighted moving average
/// (EWMA) of the cause's counts in the preceding 24-hour windows; the latest window's count k is a rise when the
/// upper tail of a Poisson distribution with that mean, P(X ≥ k), is below the significance level, k reaches a
/// minimum count, and k is at least <see cref="SpikeSettings.MinRatio"/> times the baseline. The Poisson test is
/// exact for rare causes, where a normal approximation fails; the ratio guards against the overdispersion of busy
/// causes (weekday swings) that a pure Poisson test would flag.
/// </summary>
public static class SpikeDetector
{
    /// <summary>Judges the latest count against the history (oldest window first).</summary>
    public static SpikeVerdict Evaluate(ReadOnlySpan<long> history, long observed, SpikeSettings settings)
    {
        // Contact-center volumes follow the week, so the mean of the same weekday in earlier weeks is a floor
        // under the EWMA: a Monday after a quiet weekend is compared with Mondays, not with the weekend.
        var expected = Math.Max(Math.Max(Baseline(history, settings.Smoothing), SameWeekday(history)), settings.FloorRate);
        // Quasi-Poisson, as in the Farrington method of outbreak detection: when the history varies more than a
        // Poisson count would (weekends, busy days), counts and mean are divided by the dispersion before the
        // tail is taken, so ordinary variation is not read as a rise.
        var dispersion = Dispersion(history, expected);
        var p = PoissonUpperTail((long)Math.Floor(observed / dispersion), expected / dispersion);
        var rise = observed >= settings.MinCount && observed >= settings.MinRatio * expected && p < settings.Significance;
        return new SpikeVerdict(rise, observed, expected, p, dispersion);
    }

    /// <summary>EWMA of the counts, seeded with the mean of the first week so one odd first day does not linger.</summary>
    public static double Baseline(ReadOnlySpan<long> history, double smoothing)
    {
        if (history.IsEmpty)
        {
            return 0;
        }
        var seed = Math.Min(7, history.Length);
        double mean = 0;
        for (var i = 0; i < seed; i++)
        {
            mean += history[i];
        }
        mean /= seed;
        for (var i = seed; i < history.Length; i++)
        {
            mean = smoothing * history[i] + (1 - smoothing) * mean;
        }
        return mean;
    }

    /// <summary>The mean of the windows 7, 14, 21… days before the latest one (0 with less than two weeks of history).</summary>
    public static double SameWeekday(ReadOnlySpan<long> history)
    {
        double sum = 0;
        var n = 0;
        for (var i = history.Length - 7; i >= 0; i -= 7)
        {
            sum += history[i];
            n++;
        }
        return n >= 2 ? sum / n : 0;
    }

    /// <summary>The variance of the history over its mean, at least 1 (a Poisson count has exactly 1).</summary>
    public static double Dispersion(ReadOnlySpan<long> history, double mean)
    {
        if (history.Length < 2 || mean <= 0)
        {
            return 1;
        }
        double sum = 0, squares = 0;
        foreach (var x in history)
        {
            sum += x;
        }
        var average = sum / history.Length;
        foreach (var x in history)
        {
            squares += (x - average) * (x - average);
        }
        return Math.Max(1, squares / (history.Length - 1) / Math.Max(average, mean));
    }

    /// <summary>P(X ≥ k) for X ~ Poisson(λ), summed from k upwards in log space so that tiny tails stay exact.</summary>
    public static double PoissonUpperTail(long k, double lambda)
    {
        if (k <= 0)
        {
            return 1;
        }
        if (lambda <= 0)
        {
            return 0;
        }
        var logTerm = k * Math.Log(lambda) - lambda - LogFactorial(k);
        var term = Math.Exp(logTerm);
        var sum = term;
        for (var i = k + 1; i < k + 100_000; i++)
        {
            term *= lambda / i;
            sum += term;
            if (i > lambda && term < sum * 1e-15)
            {
                break;
            }
        }
        return Math.Min(1, sum);
    }

    /// <summary>ln(n!) by Stirling's series, exact to double precision for every n that matters here.</summary>
    public static double LogFactorial(long n)
    {
        if (n < 2)
        {
            return 0;
        }
        if (n < 20)
        {
            double f = 1;
            for (var i = 2; i <= n; i++)
            {
                f *= i;
            }
            return Math.Log(f);
        }
        var x = (double)n;
        return x * Math.Log(x) - x + 0.5 * Math.Log(2 * Math.PI * x) + 1 / (12 * x) - 1 / (360 * x * x * x) + 1 / (1260 * x * x * x * x * x);
    }
}
