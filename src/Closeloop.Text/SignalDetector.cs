using System.Buffers;
using System.Collections.Frozen;

namespace Closeloop.Text;

/// <summary>Names of the risk signals that <see cref="SignalDetector"/> reports.</summary>
public static class Signals
{
    public const string ChurnThreat = "churn_threat", LegalThreat = "legal_threat", Profanity = "profanity", Urgency = "urgency";

    /// <summary>All signals, in the order <see cref="SignalDetector.Detect"/> reports them.</summary>
    public static IReadOnlyList<string> All { get; } = [ChurnThreat, LegalThreat, Profanity, Urgency];
}

/// <summary>
/// Finds churn threats, legal or regulator threats, profanity and urgency in a comment with word-level phrase rules.
/// </summary>
/// <remarks>
/// Rules match whole words only, so "Scunthorpe" or "assessment" never count as profanity. A rule marked negatable
/// is ignored when a negation ("not", "never", "don't", "won't", "no" …) stands in the four words before it with no
/// new clause ("I", "if", "but" …) in between: "I'm not going to cancel" is no threat, while "if this is not fixed
/// I will cancel" still is. The rule tables live in <see cref="SignalRules"/>.
/// </remarks>
public sealed class SignalDetector
{
    private const int StackCharLimit = 1024;
    private const int NegationWindow = 4;
    private const int NoWord = -1;

    private static readonly Lazy<SignalDetector> LazyDefault = new(() => new SignalDetector(SignalRules.Default));

    private readonly FrozenDictionary<string, int> vocabulary;
    private readonly FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabularyLookup;
    private readonly CompiledRule[][] rulesByFirstWord;
    private readonly bool[] isNegator;
    private readonly bool[] isClauseStart;
    private readonly string[][] resultsByMask;

    /// <summary>The detector with Closeloop's English rules.</summary>
    public static SignalDetector Default => LazyDefault.Value;

    internal SignalDetector(IEnumerable<SignalRule> rules)
    {
        var ruleList = rules.ToList();
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        int IdOf(string word)
        {
            if (!words.TryGetValue(word, out var id))
                words[word] = id = words.Count;
            return id;
        }

        var compiled = ruleList.Select(rule => Compile(rule, IdOf)).ToList();
        var negatorIds = SignalRules.Negators.Select(IdOf).ToList();
        var clauseIds = SignalRules.ClauseStarts.Select(IdOf).ToList();

        vocabulary = words.ToFrozenDictionary(StringComparer.Ordinal);
        vocabularyLookup = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        isNegator = new bool[words.Count];
        isClauseStart = new bool[words.Count];
        foreach (var id in negatorIds)
            isNegator[id] = true;
        foreach (var id in clauseIds)
            isClauseStart[id] = true;

        rulesByFirstWord = new CompiledRule[words.Count][];
        var grouped = compiled
            .SelectMany(rule => rule.Slots[0].WordIds.Select(id => (id, rule)))
            .GroupBy(pair => pair.id, pair => pair.rule);
        for (var id = 0; id < words.Count; id++)
            rulesByFirstWord[id] = [];
        foreach (var group in grouped)
            rulesByFirstWord[group.Key] = [.. group];

        // One shared, immutable result list per combination of signals, so Detect allocates nothing.
        resultsByMask = new string[1 << Signals.All.Count][];
        for (var mask = 0; mask < resultsByMask.Length; mask++)
            resultsByMask[mask] = [.. Signals.All.Where((_, bit) => (mask & (1 << bit)) != 0)];
    }

    /// <summary>The signals present in <paramref name="text"/>, each at most once, in the order of <see cref="Signals.All"/>.</summary>
    public IReadOnlyList<string> Detect(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
            return resultsByMask[0];

        char[]? rentedChars = null;
        var lower = text.Length <= StackCharLimit
            ? stackalloc char[text.Length]
            : (rentedChars = ArrayPool<char>.Shared.Rent(text.Length)).AsSpan(0, text.Length);
        var maxWords = (text.Length / 2) + 1;
        WordSlot[]? rentedWords = null;
        var wordSlots = maxWords <= 256
            ? stackalloc WordSlot[maxWords]
            : (rentedWords = ArrayPool<WordSlot>.Shared.Rent(maxWords)).AsSpan(0, maxWords);
        Range[]? rentedRanges = null;
        var ranges = maxWords <= 256
            ? stackalloc Range[maxWords]
            : (rentedRanges = ArrayPool<Range>.Shared.Rent(maxWords)).AsSpan(0, maxWords);
        try
        {
            var count = WordTokenizer.Tokenize(text, lower, ranges);
            for (var i = 0; i < count; i++)
            {
                var (start, length) = ranges[i].GetOffsetAndLength(text.Length);
                var id = vocabularyLookup.TryGetValue(lower.Slice(start, length), out var known) ? known : NoWord;
                var end = start + length;
                wordSlots[i] = new WordSlot(id, char.IsUpper(text[start]), EndsClause(text, end, i + 1 < count ? ranges[i + 1].Start.Value : text.Length));
            }

            var mask = Match(wordSlots[..count]);
            return resultsByMask[mask];
        }
        finally
        {
            if (rentedChars is not null)
                ArrayPool<char>.Shared.Return(rentedChars);
            if (rentedWords is not null)
                ArrayPool<WordSlot>.Shared.Return(rentedWords);
            if (rentedRanges is not null)
                ArrayPool<Range>.Shared.Return(rentedRanges);
        }
    }

    private int Match(ReadOnlySpan<WordSlot> words)
    {
        var mask = 0;
        for (var start = 0; start < words.Length; start++)
        {
            var id = words[start].Id;
            if (id == NoWord)
                continue;
            foreach (var rule in rulesByFirstWord[id])
            {
                if ((mask & rule.SignalBit) != 0)
                    continue;
                if (MatchesAt(rule.Slots, 0, words, start) && !(rule.Negatable && IsNegated(words, start)))
                    mask |= rule.SignalBit;
            }
        }

        return mask;
    }

    private static bool MatchesAt(Slot[] slots, int slotIndex, ReadOnlySpan<WordSlot> words, int position)
    {
        if (slotIndex == slots.Length)
            return true;
        var slot = slots[slotIndex];
        if (slot.Kind == SlotKind.ClauseEnd)
        {
            // Matches at the end of the text or when the previous word is followed by . , ! ? ;
            var atClauseEnd = position == words.Length || (position > 0 && words[position - 1].EndsClause);
            return atClauseEnd && MatchesAt(slots, slotIndex + 1, words, position);
        }

        if (position < words.Length && SlotAccepts(slot, words[position]) && MatchesAt(slots, slotIndex + 1, words, position + 1))
            return true;
        return slot.Optional && MatchesAt(slots, slotIndex + 1, words, position);
    }

    private static bool SlotAccepts(Slot slot, WordSlot word) => slot.Kind switch
    {
        SlotKind.AnyWord => true,
        SlotKind.Capitalized => word.Capitalized,
        _ => word.Id != NoWord && Array.IndexOf(slot.WordIds, word.Id) >= 0,
    };

    private bool IsNegated(ReadOnlySpan<WordSlot> words, int start)
    {
        for (var i = start - 1; i >= 0 && i >= start - NegationWindow; i--)
        {
            var id = words[i].Id;
            if (id == NoWord)
                continue;
            if (isNegator[id])
                return true;
            if (isClauseStart[id] || words[i].EndsClause)
                return false;
        }

        return false;
    }

    private static bool EndsClause(string text, int wordEnd, int nextWordStart)
    {
        foreach (var c in text.AsSpan(wordEnd, nextWordStart - wordEnd))
        {
            if (c is '.' or ',' or '!' or '?' or ';' or ':' or '\n')
                return true;
        }

        return false;
    }

    private static CompiledRule Compile(SignalRule rule, Func<string, int> idOf)
    {
        var bit = 1 << Signals.All.ToList().IndexOf(rule.Signal);
        if (bit == 0 || !Signals.All.Contains(rule.Signal))
            throw new ArgumentException($"Unknown signal '{rule.Signal}'.", nameof(rule));

        var slots = rule.Pattern.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(token =>
        {
            var optional = token.Length > 1 && token.EndsWith('?');
            var body = optional ? token[..^1] : token;
            return body switch
            {
                "*" => new Slot(SlotKind.AnyWord, [], optional),
                "^" => new Slot(SlotKind.Capitalized, [], optional),
                "$" => new Slot(SlotKind.ClauseEnd, [], optional),
                _ => new Slot(SlotKind.Words, [.. body.Split('|').Select(idOf)], optional),
            };
        }).ToArray();

        if (slots.Length == 0 || slots[0].Kind != SlotKind.Words || slots[0].Optional)
            throw new ArgumentException($"Pattern '{rule.Pattern}' must start with a required word slot.", nameof(rule));
        return new CompiledRule(bit, slots, rule.Negatable);
    }

    private enum SlotKind
    {
        Words,
        AnyWord,
        Capitalized,
        ClauseEnd,
    }

    private readonly record struct WordSlot(int Id, bool Capitalized, bool EndsClause);

    private sealed record Slot(SlotKind Kind, int[] WordIds, bool Optional);

    private sealed record CompiledRule(int SignalBit, Slot[] Slots, bool Negatable);
}

/// <summary>
/// One phrase rule: space-separated slots, each a set of words ("cancel|close"), "*" for any word, "^" for a
/// capitalised word (a brand name), "$" for the end of a clause; a trailing "?" makes a slot optional.
/// </summary>
internal sealed record SignalRule(string Signal, string Pattern, bool Negatable = true);
