using System.Buffers;

namespace Closeloop.Text;

/// <summary>
/// Keyword and phrase rules of a taxonomy, matched on whole lower-case words. A keyword ending in '*' matches any
/// word that starts with it ("refund*" matches "refunds", "refunded"); phrases match consecutive words.
/// </summary>
internal sealed class CauseKeywords
{
    private const int StackCharLimit = 1024;
    private readonly Dictionary<string, Phrase[]> byFirstWord;
    private readonly Dictionary<string, Phrase[]>.AlternateLookup<ReadOnlySpan<char>> exactLookup;
    private readonly Dictionary<string, Phrase[]> byPrefixStart;
    private readonly Dictionary<string, Phrase[]>.AlternateLookup<ReadOnlySpan<char>> prefixLookup;
    private const int PrefixKeyLength = 3;

    public CauseKeywords(IReadOnlyList<(int CauseIndex, IReadOnlyList<string> Keywords)> causes)
    {
        var exact = new Dictionary<string, List<Phrase>>(StringComparer.Ordinal);
        var prefix = new Dictionary<string, List<Phrase>>(StringComparer.Ordinal);
        foreach (var (causeIndex, keywords) in causes)
        {
            foreach (var keyword in keywords)
            {
                var parts = keyword.ToLowerInvariant().Split([' ', '\t', '-', '/'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0)
                    continue;
                var phrase = new Phrase(causeIndex, parts);
                var first = parts[0];
                if (first.EndsWith('*') && first.Length > PrefixKeyLength)
                    Add(prefix, first[..PrefixKeyLength], phrase);
                else
                    Add(exact, first.TrimEnd('*'), phrase);
            }
        }

        byFirstWord = exact.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        byPrefixStart = prefix.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        exactLookup = byFirstWord.GetAlternateLookup<ReadOnlySpan<char>>();
        prefixLookup = byPrefixStart.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool IsEmpty => byFirstWord.Count == 0 && byPrefixStart.Count == 0;

    /// <summary>Adds the number of matched keywords per cause to <paramref name="hits"/>.</summary>
    public void CountHits(ReadOnlySpan<char> text, Span<int> hits)
    {
        if (IsEmpty || text.IsEmpty)
            return;
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
            var count = WordTokenizer.Tokenize(text, lower, words);
            for (var w = 0; w < count; w++)
            {
                var word = lower[words[w]];
                if (exactLookup.TryGetValue(word, out var phrases))
                    CountPhrases(phrases, lower, words[..count], w, hits);
                if (word.Length >= PrefixKeyLength && prefixLookup.TryGetValue(word[..PrefixKeyLength], out var prefixed))
                    CountPhrases(prefixed, lower, words[..count], w, hits);
            }
        }
        finally
        {
            if (rented is not null)
                ArrayPool<char>.Shared.Return(rented);
            if (rentedRanges is not null)
                ArrayPool<Range>.Shared.Return(rentedRanges);
        }
    }

    private static void CountPhrases(Phrase[] phrases, ReadOnlySpan<char> lower, ReadOnlySpan<Range> words, int start, Span<int> hits)
    {
        foreach (var phrase in phrases)
        {
            if (start + phrase.Words.Length > words.Length)
                continue;
            var matched = true;
            for (var k = 0; k < phrase.Words.Length && matched; k++)
                matched = WordMatches(phrase.Words[k], lower[words[start + k]]);
            if (matched && phrase.CauseIndex < hits.Length)
                hits[phrase.CauseIndex]++;
        }
    }

    private static bool WordMatches(string pattern, ReadOnlySpan<char> word) =>
        pattern.EndsWith('*')
            ? word.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
            : word.SequenceEqual(pattern);

    private static void Add(Dictionary<string, List<Phrase>> index, string key, Phrase phrase)
    {
        if (!index.TryGetValue(key, out var list))
            index[key] = list = [];
        list.Add(phrase);
    }

    private sealed record Phrase(int CauseIndex, string[] Words);
}
