using System.Buffers;
using System.Globalization;
using System.Net;
using System.Reflection;

namespace Closeloop.Text;

/// <summary>VADER scores: <see cref="Compound"/> in [-1, 1]; the three proportions add up to about 1.</summary>
public readonly record struct SentimentScores(double Compound, double Positive, double Negative, double Neutral);

/// <summary>
/// VADER sentiment (Hutto &amp; Gilbert, ICWSM 2014), following the rules of the reference Python
/// implementation (vaderSentiment 3.3.2) over the embedded VADER lexicon.
/// </summary>
/// <remarks>
/// Thread-safe and allocation-free for comments up to <see cref="StackTokenLimit"/> tokens: every word is looked up
/// once in a single table that knows its valence and every rule role it can play, so the rules that follow are
/// array reads instead of string comparisons.
/// </remarks>
public sealed class SentimentAnalyzer
{
    // Empirically derived constants from the paper and the reference implementation.
    private const double BoosterIncrement = 0.293;
    private const double BoosterDecrement = -0.293;
    private const double CapsIncrement = 0.733;
    private const double NegationScalar = -0.74;
    private const double NormalizationAlpha = 15;
    private const int StackTokenLimit = 128;
    private const int StackCharLimit = 1024;
    private const string PythonPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private static readonly bool[] PunctuationTable = Enumerable.Range(0, 128).Select(c => PythonPunctuation.Contains((char)c, StringComparison.Ordinal)).ToArray();

    private static readonly Lazy<SentimentAnalyzer> LazyDefault = new(() => new SentimentAnalyzer(ReadEmbeddedLexicon()));

    private static readonly string[] NegationWords =
    [
        "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
        "ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
        "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
        "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
        "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
        "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
        "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't",
        "without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite",
    ];

    private static readonly string[] BoosterWords =
    [
        "absolutely", "amazingly", "awfully", "completely", "considerable", "considerably", "decidedly", "deeply",
        "effing", "enormous", "enormously", "entirely", "especially", "exceptional", "exceptionally", "extreme",
        "extremely", "fabulously", "flipping", "flippin", "frackin", "fracking", "fricking", "frickin", "frigging",
        "friggin", "fully", "fuckin", "fucking", "fuggin", "fugging", "greatly", "hella", "highly", "hugely",
        "incredible", "incredibly", "intensely", "major", "majorly", "more", "most", "particularly", "purely",
        "quite", "really", "remarkably", "so", "substantially", "thoroughly", "total", "totally", "tremendous",
        "tremendously", "uber", "unbelievably", "unusually", "utter", "utterly", "very",
    ];

    private static readonly string[] DampenerWords =
    [
        "almost", "barely", "hardly", "kinda", "kindof", "kind-of", "less", "little", "marginal", "marginally",
        "occasional", "occasionally", "partly", "scarce", "scarcely", "slight", "slightly", "somewhat", "sorta",
        "sortof", "sort-of",
    ];

    // Multi-word dampeners only ever match as n-grams in the idiom check, as in the reference implementation.
    private static readonly string[][] DampenerPhrases = [["just", "enough"], ["kind", "of"], ["sort", "of"]];

    private static readonly (string[] Words, double Valence)[] SpecialCases =
    [
        (["the", "shit"], 3), (["the", "bomb"], 3), (["bad", "ass"], 1.5), (["badass"], 1.5), (["bus", "stop"], 0.0),
        (["yeah", "right"], -2), (["kiss", "of", "death"], -1.5), (["to", "die", "for"], 3),
        (["beating", "heart"], 3.1), (["broken", "heart"], -2.9),
    ];

    private readonly Dictionary<string, WordInfo> words;
    private readonly Dictionary<string, WordInfo>.AlternateLookup<ReadOnlySpan<char>> wordLookup;

    /// <summary>The analyzer over the VADER lexicon embedded in this assembly, loaded once.</summary>
    public static SentimentAnalyzer Default => LazyDefault.Value;

    /// <summary>Creates an analyzer over a custom lexicon (token → mean valence, −4 … +4).</summary>
    public SentimentAnalyzer(IEnumerable<KeyValuePair<string, double>> lexicon)
    {
        words = new Dictionary<string, WordInfo>(StringComparer.Ordinal);
        foreach (var (token, valence) in lexicon)
        {
            // The reference implementation lower-cases every token before looking it up, so an entry with capitals
            // (a handful of emoticons such as ":D") can never match; keep that behaviour.
            if (token.Length == 0 || !string.Equals(token, token.ToLowerInvariant(), StringComparison.Ordinal))
                continue;
            Update(token, info => info with { Valence = valence, Roles = info.Roles | WordRole.InLexicon });
        }

        foreach (var word in NegationWords)
            Update(word, info => info with { Roles = info.Roles | WordRole.Negation });
        foreach (var word in BoosterWords)
            Update(word, info => info with { Booster = BoosterIncrement, Roles = info.Roles | WordRole.Booster });
        foreach (var word in DampenerWords)
            Update(word, info => info with { Booster = BoosterDecrement, Roles = info.Roles | WordRole.Booster });

        (string Word, WordRole Role)[] ruleWords =
        [
            ("kind", WordRole.Kind), ("of", WordRole.Of), ("but", WordRole.But), ("least", WordRole.Least),
            ("at", WordRole.AtOrVery), ("very", WordRole.AtOrVery), ("never", WordRole.Never),
            ("so", WordRole.SoOrThis), ("this", WordRole.SoOrThis), ("without", WordRole.Without),
            ("doubt", WordRole.Doubt), ("no", WordRole.No), ("or", WordRole.OrNor), ("nor", WordRole.OrNor),
        ];
        foreach (var (word, role) in ruleWords)
            Update(word, info => info with { Roles = info.Roles | role });

        foreach (var phrase in DampenerPhrases.Concat(SpecialCases.Select(c => c.Words)))
        {
            foreach (var word in phrase)
                Update(word, info => info with { Roles = info.Roles | WordRole.PhrasePart });
        }

        wordLookup = words.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Scores <paramref name="text"/>; an empty or whitespace text scores all zeros.</summary>
    public SentimentScores Analyze(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
            return default;
        // Text that passed through a web form or a social network's API often arrives HTML-escaped, and "&lt;3" is
        // the lexicon's "<3". Allocates only when there is an '&'.
        if (text.Contains('&', StringComparison.Ordinal))
            text = WebUtility.HtmlDecode(text);

        char[]? rentedChars = null;
        var lower = text.Length <= StackCharLimit
            ? stackalloc char[text.Length]
            : (rentedChars = ArrayPool<char>.Shared.Rent(text.Length)).AsSpan(0, text.Length);
        text.AsSpan().ToLowerInvariant(lower);

        Token[]? rentedTokens = null;
        var maxTokens = (text.Length / 2) + 1;
        var tokens = maxTokens <= StackTokenLimit
            ? stackalloc Token[maxTokens]
            : (rentedTokens = ArrayPool<Token>.Shared.Rent(maxTokens)).AsSpan(0, maxTokens);
        try
        {
            var count = Tokenize(text, lower, tokens);
            return count == 0 ? default : Score(text, lower, tokens[..count]);
        }
        finally
        {
            if (rentedChars is not null)
                ArrayPool<char>.Shared.Return(rentedChars);
            if (rentedTokens is not null)
                ArrayPool<Token>.Shared.Return(rentedTokens);
        }
    }

    private int Tokenize(string text, ReadOnlySpan<char> lower, Span<Token> tokens)
    {
        var count = 0;
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
                i++;
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]))
                i++;
            if (i == start)
                break;

            // Strip leading and trailing punctuation unless that leaves two characters or fewer,
            // which means the token was probably an emoticon such as ":)" or ":-(".
            var s = start;
            var e = i;
            while (s < e && IsPythonPunctuation(text[s]))
                s++;
            while (e > s && IsPythonPunctuation(text[e - 1]))
                e--;
            if (e - s <= 2)
            {
                s = start;
                e = i;
            }

            var word = lower[s..e];
            // "soooo goooood": a word not in the lexicon with a letter three or more times in a row is looked up
            // again with its runs cut to two letters, then to one.
            if (!wordLookup.TryGetValue(word, out var info) && HasRun(word))
                info = LookupElongated(word);

            var roles = info.Roles;
            if (word.Contains("n't", StringComparison.Ordinal))
                roles |= WordRole.Negation;
            tokens[count++] = new Token(s, e - s, info.Valence, info.Booster, roles, IsUpper(text.AsSpan(s, e - s)));
        }

        return count;
    }

    private static SentimentScores Score(ReadOnlySpan<char> text, ReadOnlySpan<char> lower, Span<Token> tokens)
    {
        var upperCount = 0;
        foreach (ref readonly var token in tokens)
        {
            if (token.IsUpper)
                upperCount++;
        }

        // Capitals only signal emphasis when some, but not all, words are in capitals.
        var capsDiffer = upperCount > 0 && upperCount < tokens.Length;

        double[]? rented = null;
        var sentiments = tokens.Length <= StackTokenLimit
            ? stackalloc double[tokens.Length]
            : (rented = ArrayPool<double>.Shared.Rent(tokens.Length)).AsSpan(0, tokens.Length);
        try
        {
            return ScoreTokens(text, lower, tokens, sentiments, capsDiffer);
        }
        finally
        {
            if (rented is not null)
                ArrayPool<double>.Shared.Return(rented);
        }
    }

    private static SentimentScores ScoreTokens(ReadOnlySpan<char> text, ReadOnlySpan<char> lower, Span<Token> tokens, Span<double> sentiments, bool capsDiffer)
    {
        for (var i = 0; i < tokens.Length; i++)
        {
            ref readonly var token = ref tokens[i];
            if ((token.Roles & WordRole.Booster) != 0
                || ((token.Roles & WordRole.Kind) != 0 && i < tokens.Length - 1 && (tokens[i + 1].Roles & WordRole.Of) != 0))
            {
                sentiments[i] = 0;
                continue;
            }

            sentiments[i] = (token.Roles & WordRole.InLexicon) != 0 ? WordValence(lower, tokens, i, capsDiffer) : 0;
        }

        ApplyButContrast(tokens, sentiments);
        return Summarize(text, sentiments);
    }

    private static double WordValence(ReadOnlySpan<char> lower, ReadOnlySpan<Token> tokens, int i, bool capsDiffer)
    {
        ref readonly var token = ref tokens[i];
        var valence = token.Valence;

        // "no" negates an adjacent lexicon word rather than carrying its own (negative) valence.
        if ((token.Roles & WordRole.No) != 0 && i != tokens.Length - 1 && (tokens[i + 1].Roles & WordRole.InLexicon) != 0)
            valence = 0.0;
        if (((i > 0 && Has(tokens[i - 1], WordRole.No))
            || (i > 1 && Has(tokens[i - 2], WordRole.No))
            || (i > 2 && Has(tokens[i - 3], WordRole.No) && Has(tokens[i - 1], WordRole.OrNor))))
        {
            valence = token.Valence * NegationScalar;
        }

        if (token.IsUpper && capsDiffer)
            valence += valence > 0 ? CapsIncrement : -CapsIncrement;

        for (var startI = 0; startI < 3; startI++)
        {
            if (i <= startI)
                break;
            ref readonly var preceding = ref tokens[i - (startI + 1)];
            if (Has(preceding, WordRole.InLexicon))
                continue;

            // Modifiers further from the word count for less.
            var scalar = BoosterScalar(preceding, valence, capsDiffer);
            if (startI == 1)
                scalar *= 0.95;
            else if (startI == 2)
                scalar *= 0.9;
            valence += scalar;
            valence = NegationCheck(valence, tokens, startI, i);
            if (startI == 2 && NearPhrasePart(tokens, i))
                valence = SpecialIdiomsCheck(valence, lower, tokens, i);
        }

        return LeastCheck(valence, tokens, i);
    }

    private static double BoosterScalar(in Token word, double valence, bool capsDiffer)
    {
        if (!Has(word, WordRole.Booster))
            return 0;
        var scalar = valence < 0 ? -word.Booster : word.Booster;
        if (word.IsUpper && capsDiffer)
            scalar += valence > 0 ? CapsIncrement : -CapsIncrement;
        return scalar;
    }

    private static double NegationCheck(double valence, ReadOnlySpan<Token> tokens, int startI, int i)
    {
        switch (startI)
        {
            case 0:
                return Has(tokens[i - 1], WordRole.Negation) ? valence * NegationScalar : valence;
            case 1:
                // "never so good" intensifies instead of negating; "without doubt" is not a negation.
                if (Has(tokens[i - 2], WordRole.Never) && Has(tokens[i - 1], WordRole.SoOrThis))
                    return valence * 1.25;
                if (Has(tokens[i - 2], WordRole.Without) && Has(tokens[i - 1], WordRole.Doubt))
                    return valence;
                return Has(tokens[i - 2], WordRole.Negation) ? valence * NegationScalar : valence;
            default:
                if ((Has(tokens[i - 3], WordRole.Never) && Has(tokens[i - 2], WordRole.SoOrThis)) || Has(tokens[i - 1], WordRole.SoOrThis))
                    return valence * 1.25;
                if (Has(tokens[i - 3], WordRole.Without) && (Has(tokens[i - 2], WordRole.Doubt) || Has(tokens[i - 1], WordRole.Doubt)))
                    return valence;
                return Has(tokens[i - 3], WordRole.Negation) ? valence * NegationScalar : valence;
        }
    }

    private static double SpecialIdiomsCheck(double valence, ReadOnlySpan<char> lower, ReadOnlySpan<Token> tokens, int i)
    {
        // Same order as the reference: the first matching sequence ending at or just before the word wins,
        // then sequences starting at the word override it.
        ReadOnlySpan<(int Start, int Length)> backward = [(i - 1, 2), (i - 2, 3), (i - 2, 2), (i - 3, 3), (i - 3, 2)];
        foreach (var (start, length) in backward)
        {
            if (TryMatchSpecialCase(lower, tokens, start, length, out var idiomValence))
            {
                valence = idiomValence;
                break;
            }
        }

        if (tokens.Length - 1 > i && TryMatchSpecialCase(lower, tokens, i, 2, out var forward2))
            valence = forward2;
        if (tokens.Length - 1 > i + 1 && TryMatchSpecialCase(lower, tokens, i, 3, out var forward3))
            valence = forward3;

        // Dampener bigrams such as "kind of" / "sort of" in the three words before.
        ReadOnlySpan<(int Start, int Length)> dampenerWindows = [(i - 3, 3), (i - 3, 2), (i - 2, 2)];
        foreach (var (start, length) in dampenerWindows)
        {
            foreach (var phrase in DampenerPhrases)
            {
                if (SequenceEquals(lower, tokens, start, length, phrase))
                    valence += BoosterDecrement;
            }
        }

        return valence;
    }

    // Every idiom and dampener phrase needs a phrase word within three words before or two after; most words have none.
    private static bool NearPhrasePart(ReadOnlySpan<Token> tokens, int i)
    {
        for (var k = Math.Max(0, i - 3); k <= Math.Min(tokens.Length - 1, i + 2); k++)
        {
            if (Has(tokens[k], WordRole.PhrasePart))
                return true;
        }

        return false;
    }

    private static bool TryMatchSpecialCase(ReadOnlySpan<char> lower, ReadOnlySpan<Token> tokens, int start, int length, out double valence)
    {
        foreach (var (words, caseValence) in SpecialCases)
        {
            if (SequenceEquals(lower, tokens, start, length, words))
            {
                valence = caseValence;
                return true;
            }
        }

        valence = 0;
        return false;
    }

    private static bool SequenceEquals(ReadOnlySpan<char> lower, ReadOnlySpan<Token> tokens, int start, int length, string[] phrase)
    {
        if (phrase.Length != length || start < 0 || start + length > tokens.Length)
            return false;
        for (var k = 0; k < length; k++)
        {
            ref readonly var token = ref tokens[start + k];
            if (!Has(token, WordRole.PhrasePart) || !lower.Slice(token.Start, token.Length).SequenceEqual(phrase[k]))
                return false;
        }

        return true;
    }

    private static double LeastCheck(double valence, ReadOnlySpan<Token> tokens, int i)
    {
        // "least" negates ("the least compelling") unless it is "at least" or "very least".
        if (i > 1 && Has(tokens[i - 1], WordRole.Least) && !Has(tokens[i - 1], WordRole.InLexicon))
            return Has(tokens[i - 2], WordRole.AtOrVery) ? valence : valence * NegationScalar;
        if (i > 0 && Has(tokens[i - 1], WordRole.Least) && !Has(tokens[i - 1], WordRole.InLexicon))
            return valence * NegationScalar;
        return valence;
    }

    private static void ApplyButContrast(ReadOnlySpan<Token> tokens, Span<double> sentiments)
    {
        // The clause after "but" dominates: halve what came before, raise what follows by half. The reference
        // implementation finds each score by value (list.index), which misplaces repeated values; this applies the
        // rule by position, as the paper describes.
        var butIndex = -1;
        for (var i = 0; i < tokens.Length; i++)
        {
            if (Has(tokens[i], WordRole.But))
            {
                butIndex = i;
                break;
            }
        }

        if (butIndex < 0)
            return;
        for (var i = 0; i < sentiments.Length; i++)
        {
            if (i < butIndex)
                sentiments[i] *= 0.5;
            else if (i > butIndex)
                sentiments[i] *= 1.5;
        }
    }

    private static SentimentScores Summarize(ReadOnlySpan<char> text, ReadOnlySpan<double> sentiments)
    {
        double sum = 0, positiveSum = 0, negativeSum = 0;
        var neutralCount = 0;
        foreach (var s in sentiments)
        {
            sum += s;
            // Adding 1 per sentiment word compensates for each neutral word counting as 1.
            if (s > 0)
                positiveSum += s + 1;
            else if (s < 0)
                negativeSum += s - 1;
            else
                neutralCount++;
        }

        var emphasis = PunctuationEmphasis(text);
        if (sum > 0)
            sum += emphasis;
        else if (sum < 0)
            sum -= emphasis;

        var compound = Math.Clamp(sum / Math.Sqrt((sum * sum) + NormalizationAlpha), -1.0, 1.0);

        if (positiveSum > Math.Abs(negativeSum))
            positiveSum += emphasis;
        else if (positiveSum < Math.Abs(negativeSum))
            negativeSum -= emphasis;

        var total = positiveSum + Math.Abs(negativeSum) + neutralCount;
        return new SentimentScores(
            compound,
            Math.Abs(positiveSum / total),
            Math.Abs(negativeSum / total),
            Math.Abs(neutralCount / total));
    }

    private static double PunctuationEmphasis(ReadOnlySpan<char> span)
    {
        var exclamations = Math.Min(span.Count('!'), 4);
        var questions = span.Count('?');
        var questionEmphasis = questions <= 1 ? 0 : questions <= 3 ? questions * 0.18 : 0.96;
        return (exclamations * 0.292) + questionEmphasis;
    }

    private static bool IsPythonPunctuation(char c) => c < 128 && PunctuationTable[c];

    private static bool Has(in Token token, WordRole role) => (token.Roles & role) != 0;

    // Python's str.isupper(): at least one cased character and no lower-case one.
    private static bool IsUpper(ReadOnlySpan<char> word)
    {
        var hasUpper = false;
        foreach (var c in word)
        {
            if (char.IsLower(c))
                return false;
            if (char.IsUpper(c))
                hasUpper = true;
        }

        return hasUpper;
    }

    private void Update(string word, Func<WordInfo, WordInfo> change)
    {
        words.TryGetValue(word, out var info);
        words[word] = change(info);
    }

    /// <summary>
    /// Words VADER's raters scored as feelings that, in what customers write to a contact centre, name things and
    /// steps: a credit card, the interest rate, a fraud alert, a security freeze, the "Fair Credit Reporting Act",
    /// customer support and care, an agreement, the other party, a request to resolve or validate a debt, "please
    /// help". Scored, they made 44 % of the CFPB complaints positive (docs/insights-quality.md); here they carry no
    /// valence, and the fitted model still learns from them as words.
    /// </summary>
    private static readonly HashSet<string> ServiceTerms = new(StringComparer.Ordinal)
    {
        "credit", "interest", "security", "agreement", "agreed", "party", "parties", "original", "fair", "resolve",
        "resolved", "validate", "validated", "approved", "accept", "accepted", "consent", "free", "freeze", "alert",
        "wells", "legal", "legally", "authority", "ensure", "allow", "ability", "responsible", "support",
        "supporting", "care", "reached", "reach", "created", "increase", "number", "matter", "want", "please",
        "help"
    };

    private static IEnumerable<KeyValuePair<string, double>> ReadEmbeddedLexicon()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Closeloop.Text.vader_lexicon.txt")
            ?? throw new InvalidOperationException("The embedded VADER lexicon is missing from Closeloop.Text.");
        using var reader = new StreamReader(stream);
        var entries = new List<KeyValuePair<string, double>>(7600);
        while (reader.ReadLine() is { } line)
        {
            var fields = line.Split('\t');
            if (fields.Length >= 2 && double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var valence)
                && !ServiceTerms.Contains(fields[0].Trim()))
                entries.Add(new KeyValuePair<string, double>(fields[0].Trim(), valence));
        }

        return entries;
    }

    [Flags]
    private enum WordRole
    {
        None = 0,
        InLexicon = 1 << 0,
        Booster = 1 << 1,
        Negation = 1 << 2,
        Kind = 1 << 3,
        Of = 1 << 4,
        But = 1 << 5,
        Least = 1 << 6,
        AtOrVery = 1 << 7,
        Never = 1 << 8,
        SoOrThis = 1 << 9,
        Without = 1 << 10,
        Doubt = 1 << 11,
        No = 1 << 12,
        OrNor = 1 << 13,
        PhrasePart = 1 << 14,
    }

    private readonly record struct WordInfo(double Valence, double Booster, WordRole Roles);

    private readonly record struct Token(int Start, int Length, double Valence, double Booster, WordRole Roles, bool IsUpper);

    private WordInfo LookupElongated(ReadOnlySpan<char> word)
    {
        Span<char> buffer = word.Length <= 256 ? stackalloc char[word.Length] : new char[word.Length];
        if (!wordLookup.TryGetValue(Collapse(word, buffer, 2), out var info))
            wordLookup.TryGetValue(Collapse(word, buffer, 1), out info);
        return info;
    }

    private static bool HasRun(ReadOnlySpan<char> word)
    {
        for (var k = 2; k < word.Length; k++)
        {
            if (word[k] == word[k - 1] && word[k] == word[k - 2] && char.IsLetter(word[k]))
                return true;
        }

        return false;
    }

    private static ReadOnlySpan<char> Collapse(ReadOnlySpan<char> word, Span<char> buffer, int keep)
    {
        var n = 0;
        var run = 0;
        for (var k = 0; k < word.Length; k++)
        {
            run = k > 0 && word[k] == word[k - 1] ? run + 1 : 1;
            if (run <= keep || !char.IsLetter(word[k]))
                buffer[n++] = word[k];
        }

        return buffer[..n];
    }
}
