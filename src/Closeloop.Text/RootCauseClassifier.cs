using System.Numerics;
using System.Runtime.InteropServices;

namespace Closeloop.Text;

/// <summary>A root cause of the taxonomy: its code ("process.long-wait") and the keywords or phrases that suggest it.</summary>
public sealed record CauseDefinition(string Code, IReadOnlyList<string> Keywords);

/// <summary>A predicted cause with its probability (0 … 1).</summary>
public readonly record struct CausePrediction(string Code, double Confidence);

/// <summary>
/// Assigns a root cause to a comment: keyword rules from the taxonomy blended with a multinomial logistic
/// regression over hashed word unigrams, word bigrams and character 3–5-grams, trained by SGD.
/// </summary>
/// <remarks>
/// <para>Scores are softmax probabilities over the causes of the current taxonomy. Keyword hits add a bonus to a
/// cause's logit; with no learned examples the bonus alone gives one matched cause a probability of about 0.6, and
/// it fades as examples arrive (halved after <see cref="KeywordFadeExamples"/> examples), so the learned model takes
/// over.</para>
/// <para>Thread-safe: <see cref="Predict"/> and <see cref="Rank"/> run concurrently under a read lock;
/// <see cref="Learn"/>, <see cref="Train"/> and <see cref="SetTaxonomy"/> take the write lock. Feature extraction
/// happens outside the lock.</para>
/// </remarks>
public sealed class RootCauseClassifier : IDisposable
{
    /// <summary>After this many learned examples the keyword bonus is half its initial size.</summary>
    public const int KeywordFadeExamples = 50;

    private const int RowMapBits = 20;
    private const int RowMapShift = 64 - RowMapBits;
    private const int StackClassLimit = 256;
    private const int MaxOnlineSteps = 30;
    private const float OnlineLearningRate = 0.5f;

    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.NoRecursion);
    private readonly List<string> codes = [];
    private readonly Dictionary<string, int> classOf = new(StringComparer.Ordinal);
    private readonly List<Example> examples = [];
    // The taxonomy's keywords as examples of their causes: retraining sees them beside the learned examples, so a
    // model taught only one cause still tells it from the others (instead of learning "every text is that cause").
    private List<Example> seeds = [];
    private int[] examplesOfClass = [];
    private readonly int[] rowOfBucket;
    private bool[] active = [];
    private CauseKeywords keywords = new([]);
    private int stride = Vector<float>.Count;
    private float[] weights = [];
    private float[] bias = new float[Vector<float>.Count];
    private int rowCount;

    /// <summary>Creates a classifier over <paramref name="taxonomy"/>; predictions below <paramref name="threshold"/> are "unclassified".</summary>
    public RootCauseClassifier(IEnumerable<CauseDefinition> taxonomy, double threshold = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(threshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threshold, 1.0);
        Threshold = threshold;
        rowOfBucket = new int[1 << RowMapBits];
        Array.Fill(rowOfBucket, -1);
        SetTaxonomy(taxonomy);
    }

    /// <summary>The probability below which <see cref="Predict"/> answers "unclassified" (null).</summary>
    public double Threshold { get; }

    /// <summary>Training settings used by <see cref="Train"/>; the defaults were chosen on BANKING77's training set.</summary>
    public TrainingOptions Options { get; init; } = new();

    /// <summary>How many labelled examples the model has learned from.</summary>
    public int ExampleCount
    {
        get
        {
            gate.EnterReadLock();
            try
            {
                return examples.Count;
            }
            finally
            {
                gate.ExitReadLock();
            }
        }
    }

    /// <summary>Replaces the taxonomy. Learned examples of a removed cause are kept, and count again if it returns.</summary>
    public void SetTaxonomy(IEnumerable<CauseDefinition> taxonomy)
    {
        ArgumentNullException.ThrowIfNull(taxonomy);
        var causes = taxonomy.ToList();
        gate.EnterWriteLock();
        try
        {
            var rules = new List<(int, IReadOnlyList<string>)>(causes.Count);
            foreach (var cause in causes)
                rules.Add((ClassIndex(cause.Code), cause.Keywords ?? []));
            Array.Clear(active);
            foreach (var (index, _) in rules)
                active[index] = true;
            keywords = new CauseKeywords(rules);
            seeds = [];
            foreach (var (index, phrases) in rules)
            {
                foreach (var phrase in phrases)
                {
                    var text = phrase.TrimEnd('*');
                    var hashes = new ulong[TextFeatures.MaxFeatures(text.Length)];
                    var values = new float[hashes.Length];
                    var count = TextFeatures.Extract(text, hashes, values);
                    if (count > 0)
                        seeds.Add(NewExample(hashes.AsSpan(0, count), values.AsSpan(0, count), index));
                }
            }
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }

    /// <summary>Learns one labelled example; the next prediction already reflects it.</summary>
    /// <remarks>A code outside the taxonomy is added to it, without keywords.</remarks>
    public void Learn(string text, string causeCode)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrWhiteSpace(causeCode);
        var (hashes, values, count) = TextFeatures.ExtractThreadLocal(text);
        gate.EnterWriteLock();
        try
        {
            var label = ClassIndex(causeCode);
            active[label] = true;
            var example = AddExample(hashes.AsSpan(0, count), values.AsSpan(0, count), label);
            LearnOnline(example, text);
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }

    /// <summary>Adds the examples and retrains the learned model on everything learned so far (several SGD epochs).</summary>
    /// <remarks>Predictions wait while the model retrains; BANKING77's 10,000 examples take a few seconds.</remarks>
    public void Train(IEnumerable<(string Text, string Cause)> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var extracted = examples.Select(e =>
        {
            var hashes = new ulong[TextFeatures.MaxFeatures(e.Text.Length)];
            var values = new float[hashes.Length];
            var count = TextFeatures.Extract(e.Text, hashes, values);
            return (Hashes: hashes[..count], Values: values[..count], e.Cause);
        }).ToList();

        gate.EnterWriteLock();
        try
        {
            foreach (var (hashes, values, cause) in extracted)
            {
                var label = ClassIndex(cause);
                active[label] = true;
                AddExample(hashes, values, label);
            }

            RetrainFromScratch();
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }

    /// <summary>The most probable cause, or null ("unclassified") when it is below <see cref="Threshold"/> or nothing suggests one.</summary>
    public CausePrediction? Predict(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (hashes, values, count) = TextFeatures.ExtractThreadLocal(text);
        return Predict(text, hashes.AsSpan(0, count), values.AsSpan(0, count));
    }

    /// <summary><see cref="Predict(string)"/> over features already extracted from <paramref name="text"/>.</summary>
    internal CausePrediction? Predict(string text, ReadOnlySpan<ulong> hashes, ReadOnlySpan<float> values)
    {
        gate.EnterReadLock();
        try
        {
            var classes = codes.Count;
            Span<float> probabilities = classes <= StackClassLimit ? stackalloc float[stride] : new float[stride];
            if (!Probabilities(hashes, values, text, probabilities))
                return null;
            var best = -1;
            for (var c = 0; c < classes; c++)
            {
                if (active[c] && (best < 0 || probabilities[c] > probabilities[best]))
                    best = c;
            }

            return best < 0 || probabilities[best] < Threshold ? null : new CausePrediction(codes[best], probabilities[best]);
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    /// <summary>The <paramref name="top"/> most probable causes, best first, whatever their probability.</summary>
    public IReadOnlyList<CausePrediction> Rank(string text, int top = 3)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        var (hashes, values, count) = TextFeatures.ExtractThreadLocal(text);
        gate.EnterReadLock();
        try
        {
            var probabilities = new float[stride];
            if (!Probabilities(hashes.AsSpan(0, count), values.AsSpan(0, count), text, probabilities))
                return [];
            return Enumerable.Range(0, codes.Count)
                .Where(c => active[c])
                .OrderByDescending(c => probabilities[c])
                .Take(top)
                .Select(c => new CausePrediction(codes[c], probabilities[c]))
                .ToList();
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    public void Dispose() => gate.Dispose();

    // Softmax over the active causes of model logits plus the fading keyword bonus. False when nothing is known:
    // no learned examples and no keyword hit.
    private bool Probabilities(ReadOnlySpan<ulong> hashes, ReadOnlySpan<float> values, string text, Span<float> probabilities)
    {
        var classes = codes.Count;
        var activeCount = 0;
        for (var c = 0; c < classes; c++)
        {
            if (active[c])
                activeCount++;
        }

        if (activeCount == 0)
            return false;

        Span<int> hits = classes <= StackClassLimit ? stackalloc int[classes] : new int[classes];
        hits.Clear();
        keywords.CountHits(text, hits);
        var anyHit = false;
        for (var c = 0; c < classes; c++)
            anyHit |= hits[c] > 0 && active[c];
        if (!anyHit && examples.Count == 0)
            return false;

        Logits(hashes, values, probabilities);
        if (anyHit)
        {
            for (var c = 0; c < classes; c++)
            {
                if (hits[c] > 0)
                    probabilities[c] += KeywordBonus(activeCount, c) * (1f + (0.25f * (Math.Min(hits[c], 3) - 1)));
            }
        }

        Softmax(probabilities[..classes]);
        return true;
    }

    private float KeywordBonus(int activeCount, int cause)
    {
        // With flat logits, a bonus of ln(1.5 (K - 1)) gives the one matched cause a probability of 0.6 among K.
        // It fades with the examples of that cause, not of all causes: examples of one cause say nothing about
        // how far the keywords of another can be trusted.
        var initial = MathF.Log(1.5f * Math.Max(activeCount - 1, 1));
        return initial * KeywordFadeExamples / (KeywordFadeExamples + examplesOfClass[cause]);
    }

    private void Logits(ReadOnlySpan<ulong> hashes, ReadOnlySpan<float> values, Span<float> scores)
    {
        bias.AsSpan(0, stride).CopyTo(scores);
        var scoreVectors = MemoryMarshal.Cast<float, Vector<float>>(scores[..stride]);
        var weightVectors = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan());
        var vectorsPerRow = stride / Vector<float>.Count;
        for (var i = 0; i < hashes.Length; i++)
        {
            var row = rowOfBucket[(int)(hashes[i] >> RowMapShift)];
            if (row < 0)
                continue;
            var value = new Vector<float>(values[i]);
            var rowVectors = weightVectors.Slice(row * vectorsPerRow, vectorsPerRow);
            for (var v = 0; v < rowVectors.Length; v++)
                scoreVectors[v] += rowVectors[v] * value;
        }
    }

    private void Softmax(Span<float> scores)
    {
        var max = float.NegativeInfinity;
        for (var c = 0; c < scores.Length; c++)
        {
            if (active[c] && scores[c] > max)
                max = scores[c];
        }

        var sum = 0f;
        for (var c = 0; c < scores.Length; c++)
        {
            scores[c] = active[c] ? MathF.Exp(scores[c] - max) : 0f;
            sum += scores[c];
        }

        for (var c = 0; c < scores.Length; c++)
            scores[c] /= sum;
    }

    // Steps on the new example until the blended prediction for its own text is its label with a margin: cheap
    // (a few sparse updates) and the correction shows at once. Train later refits everything properly.
    private void LearnOnline(Example example, string text)
    {
        var target = (float)Math.Max(Threshold, 0.5) + 0.05f;
        var probabilities = new float[stride];
        var hits = new int[codes.Count];
        keywords.CountHits(text, hits);
        for (var step = 0; step < MaxOnlineSteps; step++)
        {
            ComputeTrainingProbabilities(example, probabilities, hits);
            if (probabilities[example.Label] >= target)
                return;
            GradientStep(example, probabilities, OnlineLearningRate);
        }
    }

    private void ComputeTrainingProbabilities(Example example, float[] probabilities, ReadOnlySpan<int> hits)
    {
        LogitsForRows(example, probabilities);
        if (!hits.IsEmpty)
        {
            var activeCount = active.Take(codes.Count).Count(a => a);
            for (var c = 0; c < hits.Length && c < codes.Count; c++)
            {
                if (hits[c] > 0)
                    probabilities[c] += KeywordBonus(activeCount, c) * (1f + (0.25f * (Math.Min(hits[c], 3) - 1)));
            }
        }

        Softmax(probabilities.AsSpan(0, codes.Count));
    }

    private void LogitsForRows(Example example, Span<float> scores)
    {
        scores.Clear();
        bias.AsSpan(0, stride).CopyTo(scores);
        var scoreVectors = MemoryMarshal.Cast<float, Vector<float>>(scores[..stride]);
        var weightVectors = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan());
        var vectorsPerRow = stride / Vector<float>.Count;
        for (var i = 0; i < example.Rows.Length; i++)
        {
            var value = new Vector<float>(example.Values[i]);
            var rowVectors = weightVectors.Slice(example.Rows[i] * vectorsPerRow, vectorsPerRow);
            for (var v = 0; v < rowVectors.Length; v++)
                scoreVectors[v] += rowVectors[v] * value;
        }
    }

    // Cross-entropy gradient: every weight of a used feature row moves by -rate * value * (p - y).
    private void GradientStep(Example example, float[] probabilities, float rate)
    {
        probabilities[example.Label] -= 1f;
        for (var c = codes.Count; c < stride; c++)
            probabilities[c] = 0f;
        var gradient = MemoryMarshal.Cast<float, Vector<float>>(probabilities.AsSpan(0, stride));
        var weightVectors = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan());
        var vectorsPerRow = stride / Vector<float>.Count;
        for (var i = 0; i < example.Rows.Length; i++)
        {
            var scale = new Vector<float>(-rate * example.Values[i]);
            var rowVectors = weightVectors.Slice(example.Rows[i] * vectorsPerRow, vectorsPerRow);
            for (var v = 0; v < rowVectors.Length; v++)
                rowVectors[v] += gradient[v] * scale;
        }

        var biasVectors = MemoryMarshal.Cast<float, Vector<float>>(bias.AsSpan(0, stride));
        var biasScale = new Vector<float>(-rate * Options.BiasRate);
        for (var v = 0; v < biasVectors.Length; v++)
            biasVectors[v] += gradient[v] * biasScale;
    }

    private void RetrainFromScratch()
    {
        Array.Clear(weights);
        Array.Clear(bias);
        // The keyword seeds of causes still in the taxonomy train beside the learned examples.
        var all = examples.Concat(seeds.Where(s => active[s.Label])).ToList();
        var order = Enumerable.Range(0, all.Count).ToArray();
        var random = new Random(Options.Seed);
        var probabilities = new float[stride];
        var step = 0L;
        var total = (long)Options.Epochs * all.Count;
        for (var epoch = 0; epoch < Options.Epochs; epoch++)
        {
            random.Shuffle(order);
            foreach (var index in order)
            {
                var example = all[index];
                // Learning rate decays linearly to a floor, which settles the weights without a validation set.
                var rate = Options.LearningRate * Math.Max(Options.FinalRateFraction, 1f - ((float)step / total));
                step++;
                LogitsForRows(example, probabilities);
                Softmax(probabilities.AsSpan(0, codes.Count));
                GradientStep(example, probabilities, rate);
            }
        }
    }

    private Example AddExample(ReadOnlySpan<ulong> hashes, ReadOnlySpan<float> values, int label)
    {
        var example = NewExample(hashes, values, label);
        examples.Add(example);
        examplesOfClass[label]++;
        return example;
    }

    private Example NewExample(ReadOnlySpan<ulong> hashes, ReadOnlySpan<float> values, int label)
    {
        var rows = new int[hashes.Length];
        for (var i = 0; i < hashes.Length; i++)
            rows[i] = RowFor(hashes[i]);
        return new Example(rows, values.ToArray(), label);
    }

    private int RowFor(ulong hash)
    {
        var bucket = (int)(hash >> RowMapShift);
        var row = rowOfBucket[bucket];
        if (row >= 0)
            return row;
        row = rowCount++;
        if ((long)rowCount * stride > weights.Length)
            Array.Resize(ref weights, Math.Max(rowCount * stride, weights.Length * 2));
        rowOfBucket[bucket] = row;
        return row;
    }

    private int ClassIndex(string code)
    {
        if (classOf.TryGetValue(code, out var index))
            return index;
        index = codes.Count;
        codes.Add(code);
        classOf[code] = index;
        Array.Resize(ref active, codes.Count);
        Array.Resize(ref examplesOfClass, codes.Count);
        if (codes.Count > stride)
            Widen(RoundUpToVector(codes.Count + Vector<float>.Count));
        return index;
    }

    // More causes than the row width: copy every row into wider rows, leaving room for a few more causes.
    private void Widen(int newStride)
    {
        var widened = new float[Math.Max(rowCount, 1) * newStride];
        for (var row = 0; row < rowCount; row++)
            weights.AsSpan(row * stride, stride).CopyTo(widened.AsSpan(row * newStride));
        var widenedBias = new float[newStride];
        bias.AsSpan(0, stride).CopyTo(widenedBias);
        weights = widened;
        bias = widenedBias;
        stride = newStride;
    }

    private static int RoundUpToVector(int count) => (count + Vector<float>.Count - 1) / Vector<float>.Count * Vector<float>.Count;

    private sealed record Example(int[] Rows, float[] Values, int Label);
}

/// <summary>How <see cref="RootCauseClassifier.Train"/> fits the model.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 12;
    public float LearningRate { get; init; } = 1.0f;
    public float FinalRateFraction { get; init; } = 0.05f;
    public float BiasRate { get; init; } = 0.1f;
    public int Seed { get; init; } = 77;
}
