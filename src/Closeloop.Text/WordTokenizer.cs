namespace Closeloop.Text;

/// <summary>
/// Splits text into lower-case word spans for the signal rules and the classifier: letters, digits and in-word
/// apostrophes, plus '*' so that masked swearing ("f*ck") stays one word.
/// </summary>
internal static class WordTokenizer
{
    /// <summary>Writes lower-cased text to <paramref name="lower"/> and word ranges to <paramref name="words"/>; returns the count.</summary>
    public static int Tokenize(ReadOnlySpan<char> text, Span<char> lower, Span<Range> words)
    {
        var count = 0;
        var i = 0;
        while (i < text.Length && count < words.Length)
        {
            while (i < text.Length && !IsWordChar(text[i]))
                i++;
            var start = i;
            while (i < text.Length && (IsWordChar(text[i]) || (IsApostrophe(text[i]) && i + 1 < text.Length && char.IsLetter(text[i + 1]) && i > start)))
            {
                var c = text[i];
                // Curly apostrophes from phones and word processors read as the plain one.
                lower[i] = IsApostrophe(c) ? '\'' : char.ToLowerInvariant(c);
                i++;
            }

            if (i > start)
                words[count++] = new Range(start, i);
        }

        return count;
    }

    public static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '*';

    private static bool IsApostrophe(char c) => c is '\'' or '\u2019' or '\u2018';
}
