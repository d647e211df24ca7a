using System.Buffers;

namespace Closeloop.Text;

/// <summary>
/// Turns text into hashed sparse features for the linear classifier: word unigrams, word bigrams (with start and
/// end markers) and character 3–5-grams inside each word, each group scaled, the whole vector L2-normalised.
/// </summary>
/// <remarks>
/// Features are 64-bit hashes rather than strings so that extraction allocates nothing and the model needs no
/// vocabulary to predict; the classifier maps a hash to a weight row only when a training example first uses it.
/// Digits are folded to '0' so that amounts and dates generalise ("£20" and "£35" share features).
/// </remarks>
internal static class TextFeatures
{
    public const int MinCharGram = 3;
    public const int MaxCharGram = 5;
    private const int StackCharLimit = 1024;
    private const ulong UnigramSeed = 0x9E3779B97F4A7C15;
    private const ulong BigramSeed = 0xC2B2AE3D27D4EB4F;
    private const ulong CharGramSeed = 0x165667B19E3779F9;

    // Relative weights of the groups before normalisation: whole words carry more than their fragments, which
    // mostly help with misspellings and inflections.
    private const float UnigramWeight = 1.0f;
    private const float BigramWeight = 0.8f;
    private const float CharGramWeight = 0.35f;

    [ThreadStatic] private static ulong[]? threadHashes;
    [ThreadStatic] private static float[]? threadValues;

    /// <summary>
    /// Extracts into this thread's reusable buffers, so a prediction allocates nothing; the result is valid until the
    /// thread's next call.
    /// </summary>
    public static (ulong[] Hashes, float[] Values, int Count) ExtractThreadLocal(string text)
    {
        var needed = MaxFeatures(text.Length);
        if (threadHashes is null || threadHashes.Length < needed)
        {
            threadHashes = new ulong[Math.Max(needed, 1024)];
            threadValues = new float[threadHashes.Length];
        }

        var count = Extract(text, threadHashes, threadValues);
        return (threadHashes, threadValues!, count);
    }

    /// <summary>An upper bound on the features <see cref="Extract"/> can write for a text of this length.</summary>
    public static int MaxFeatures(int textLength) => (textLength * (MaxCharGram - MinCharGram + 1)) + (textLength * 2) + 8;

    /// <summary>Writes feature hashes and values; returns how many were written.</summary>
    public static int Extract(ReadOnlySpan<char> text, Span<ulong> hashes, Span<float> values)
    {
        if (text.IsEmpty)
            return 0;

        char[]? rented = null;
        var lower = text.Length <= StackCharLimit
            ? stackalloc char[text.Length]
            : (rented = ArrayPool<char>.Shared.Rent(text.Length)).AsSpan(0, text.Length);
        Range[]? rentedRanges = null;
        var maxWords = (text.Length / 2) + 1;
        var words = maxWords <= 256
            ? stackalloc Range[maxWords]
            : (rentedRanges = ArrayPool<Range>.Shared.Rent(maxWords)).AsSpan(0, maxWords);
        try
        {
            var wordCount = WordTokenizer.Tokenize(text, lower, words);
            for (var i = 0; i < text.Length; i++)
            {
                if (char.IsDigit(lower[i]))
                    lower[i] = '0';
            }

            var count = 0;
            var previous = 0x51ED270B27u; // start-of-text marker
            for (var w = 0; w < wordCount; w++)
            {
                var word = lower[words[w]];
                var wordHash = Hash(UnigramSeed, word);
                hashes[count] = wordHash;
                values[count++] = UnigramWeight;
                hashes[count] = Mix((previous * 31) ^ wordHash ^ BigramSeed);
                values[count++] = BigramWeight;
                previous = wordHash;
                count = AddCharGrams(word, hashes, values, count);
            }

            if (wordCount > 0)
            {
                hashes[count] = Mix((previous * 31) ^ 0x2545F4914F6CDD1D ^ BigramSeed); // end-of-text marker
                values[count++] = BigramWeight;
            }

            Normalize(hashes[..count], values[..count]);
            return count;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
            if (rentedRanges is not null)
                ArrayPool<Range>.Shared.Return(rentedRanges);
        }
    }

    private static int AddCharGrams(ReadOnlySpan<char> word, Span<ulong> hashes, Span<float> values, int count)
    {
        // Grams over "<word>", so prefixes and suffixes are features of their own.
        var length = word.Length + 2;
        if (length <= MinCharGram)
            return count;
        for (var start = 0; start + MinCharGram <= length; start++)
        {
            var h = CharGramSeed;
            for (var n = 0; n < MaxCharGram && start + n < length; n++)
            {
                var position = start + n;
                var c = position == 0 ? '<' : position == length - 1 ? '>' : word[position - 1];
                h = (h ^ c) * 0x100000001B3;
                if (n + 1 >= MinCharGram)
                {
                    hashes[count] = Mix(h + (ulong)n);
                    values[count++] = CharGramWeight;
                }
            }
        }

        return count;
    }

    private static ulong Hash(ulong seed, ReadOnlySpan<char> chars)
    {
        var h = seed;
        foreach (var c in chars)
            h = (h ^ c) * 0x100000001B3;
        return Mix(h);
    }

    // Final avalanche (from SplitMix64) so that the top bits, which pick the bucket, depend on every character.
    private static ulong Mix(ulong h)
    {
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB;
        return h ^ (h >> 31);
    }

    /// <summary>
    /// Scales the values so that the vector they stand for has unit length. A hash may occur many times (a word the
    /// text repeats, a character gram many words share), and the vector holds the sum of its values, so the length
    /// is taken over those sums: taken over the entries, a sentence written out a hundred times weighed ten times
    /// one written once, and the scores of long texts ran to the ends of their scale.
    /// </summary>
    private static void Normalize(ReadOnlySpan<ulong> hashes, Span<float> values)
    {
        if (values.IsEmpty)
            return;
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(values.Length * 2));
        var keys = ArrayPool<ulong>.Shared.Rent(size);
        var sums = ArrayPool<float>.Shared.Rent(size);
        var used = ArrayPool<bool>.Shared.Rent(size);
        try
        {
            Array.Clear(used, 0, size);
            var mask = size - 1;
            for (var i = 0; i < values.Length; i++)
            {
                var slot = (int)(hashes[i] & (ulong)mask);
                while (used[slot] && keys[slot] != hashes[i])
                    slot = (slot + 1) & mask;
                if (!used[slot])
                {
                    used[slot] = true;
                    keys[slot] = hashes[i];
                    sums[slot] = 0;
                }

                sums[slot] += values[i];
            }

            var sum = 0f;
            for (var slot = 0; slot < size; slot++)
            {
                if (used[slot])
                    sum += sums[slot] * sums[slot];
            }

            if (sum <= 0)
                return;
            var scale = 1f / MathF.Sqrt(sum);
            foreach (ref var v in values)
                v *= scale;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(keys);
            ArrayPool<float>.Shared.Return(sums);
            ArrayPool<bool>.Shared.Return(used);
        }
    }
}
