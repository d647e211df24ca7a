using System.Globalization;
using System.Reflection;
using System.Text;

namespace Closeloop.Text;

/// <summary>
/// The sentiment score Closeloop reports: VADER's compound refined by a ridge regression, fitted on human ratings,
/// over VADER's compound and the classifier's hashed word and character features.
/// </summary>
/// <remarks>
/// <para>VADER's lexicon and rules carry most of the signal; the regression learns how much to trust them and adds
/// what they miss (phrases outside the lexicon, the tone of whole clauses, domain words such as "refund" or
/// "broke"). It is fitted to the raters' mean (−4 … +4) and then stretched to the spread of VADER's compound, so
/// that thresholds written for VADER keep their meaning.</para>
/// <para><see cref="Default"/> is fitted, the first time it is used, on half of the VADER ground truth that ships in
/// this assembly (<see cref="IsTrainingRow"/>); the other half is what the evaluation reports as held out. Fitting
/// takes a fraction of a second and is deterministic. Thread-safe once built.</para>
/// </remarks>
public sealed class SentimentModel
{
    private const int BucketShift = 64 - 18;
    private const int Epochs = 8;
    private const double LearningRate = 0.05;
    private const double L2 = 1e-5;
    private const int Seed = 14;

    private static readonly Lazy<SentimentModel> LazyDefault = new(() => Fit(ReadEmbeddedRatings().Where(r => IsTrainingRow(r.Text)), SentimentAnalyzer.Default));

    private readonly float[] weights;
    private readonly double compoundWeight;
    private readonly double bias;

    private SentimentModel(float[] weights, double compoundWeight, double bias)
    {
        this.weights = weights;
        this.compoundWeight = compoundWeight;
        this.bias = bias;
    }

    /// <summary>The model fitted on the training half of the embedded VADER ground truth.</summary>
    public static SentimentModel Default => LazyDefault.Value;

    /// <summary>
    /// The rows of the VADER ground truth the shipped model learns from: half of each set, by a 32-bit FNV-1a hash
    /// of the text. The evaluation reports the other half as held out, so it never chooses anything here.
    /// </summary>
    public static bool IsTrainingRow(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(text + "#sentiment-dev"))
            hash = (hash ^ b) * 16777619u;
        return hash % 2 == 0;
    }

    /// <summary>
    /// Fits a model by SGD (8 epochs, learning rate 0.05 / (1 + epoch), L2 10⁻⁵, a fixed shuffle seed) on texts rated
    /// from −4 to +4, as the VADER ground truth is.
    /// </summary>
    public static SentimentModel Fit(IEnumerable<(string Text, double Rating)> examples, SentimentAnalyzer vader)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(vader);
        var encoded = examples.Select(e =>
        {
            var hashes = new ulong[TextFeatures.MaxFeatures(e.Text.Length)];
            var values = new float[hashes.Length];
            var count = TextFeatures.Extract(e.Text, hashes, values);
            var buckets = new int[count];
            for (var i = 0; i < count; i++)
                buckets[i] = Bucket(hashes[i]);
            return (Buckets: buckets, Values: values[..count], Compound: vader.Analyze(e.Text).Compound, Target: e.Rating / 4.0);
        }).ToArray();

        var w = new double[1 << (64 - BucketShift)];
        double wCompound = 0.5, b = 0;
        double Predict(int[] buckets, float[] values, double compound)
        {
            var sum = b + (wCompound * compound);
            for (var i = 0; i < buckets.Length; i++)
                sum += w[buckets[i]] * values[i];
            return sum;
        }

        var random = new Random(Seed);
        var order = Enumerable.Range(0, encoded.Length).ToArray();
        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = LearningRate / (1 + epoch);
            foreach (var index in order)
            {
                var (buckets, values, compound, target) = encoded[index];
                var error = Predict(buckets, values, compound) - target;
                wCompound -= rate * ((error * compound) + (L2 * wCompound));
                b -= rate * error;
                for (var i = 0; i < buckets.Length; i++)
                    w[buckets[i]] -= rate * ((error * values[i]) + (L2 * w[buckets[i]]));
            }
        }

        // A regression's predictions are narrower than what it predicts (their spread is r times the ratings'), and
        // rules such as "sentiment below −0.5" were written against VADER's compound. So the fitted score is stretched
        // linearly to the mean and spread VADER's compound has on the same texts: Pearson r does not change, and the
        // score keeps VADER's conventions (above 0.05 positive, below −0.05 negative, strong feeling near ±0.9).
        var raw = Array.ConvertAll(encoded, e => Predict(e.Buckets, e.Values, e.Compound));
        var compounds = encoded.Select(e => e.Compound).ToArray();
        var (rawMean, rawSpread) = MeanAndSpread(raw);
        var (vaderMean, vaderSpread) = MeanAndSpread(compounds);
        var scale = rawSpread > 0 ? vaderSpread / rawSpread : 1;
        return new SentimentModel(Array.ConvertAll(w, x => (float)(x * scale)), wCompound * scale, ((b - rawMean) * scale) + vaderMean);
    }

    private static (double Mean, double Spread) MeanAndSpread(double[] values)
    {
        if (values.Length == 0)
            return (0, 0);
        var mean = values.Average();
        return (mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length));
    }

    /// <summary>The score of <paramref name="text"/> given its VADER compound, from −1 to +1.</summary>
    public double Score(string text, double vaderCompound)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (hashes, values, count) = TextFeatures.ExtractThreadLocal(text);
        return Score(hashes.AsSpan(0, count), values.AsSpan(0, count), vaderCompound);
    }

    /// <summary><see cref="Score(string, double)"/> over features already extracted from the text.</summary>
    internal double Score(ReadOnlySpan<ulong> hashes, ReadOnlySpan<float> values, double vaderCompound)
    {
        var sum = bias + (compoundWeight * vaderCompound);
        for (var i = 0; i < hashes.Length; i++)
            sum += weights[Bucket(hashes[i])] * values[i];
        return Math.Clamp(sum, -1.0, 1.0);
    }

    /// <summary>Both files of the VADER ground truth, as embedded: text and mean rating (−4 … +4).</summary>
    public static IReadOnlyList<(string Text, double Rating)> ReadEmbeddedRatings()
    {
        var rows = new List<(string, double)>(8000);
        foreach (var name in new[] { "tweets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt" })
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Closeloop.Text.vader_gt." + name)
                ?? throw new InvalidOperationException($"The embedded ratings {name} are missing from Closeloop.Text.");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            while (reader.ReadLine() is { } line)
            {
                // id, mean rating, then the text, which may itself hold tabs.
                var fields = line.Split('\t', 3);
                if (fields.Length == 3 && double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var rating))
                    rows.Add((fields[2], rating));
            }
        }

        return rows;
    }

    private static int Bucket(ulong hash) => (int)(hash >> BucketShift);
}
