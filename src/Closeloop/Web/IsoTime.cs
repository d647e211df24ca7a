using System.Globalization;
using System.Text.RegularExpressions;

namespace Closeloop.Web;

/// <summary>
/// Reads times written in ISO 8601 and nothing else. <see cref="DateTimeOffset.TryParse(string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/>
/// alone also reads "11/12/2026" (month first: silently wrong for a sender who writes the day first), "12.11.2026"
/// and "Nov 12 2026", so every time the API takes (records, periods, deadlines) goes through here.
/// </summary>
public static partial class IsoTime
{
    /// <summary>A date, or a date and time with optional seconds and fraction; no zone means UTC.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        return text is not null
            && Pattern().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out value);
    }

    /// <summary>True for a date without a time ("2026-11-20"), which a period reads as the whole UTC day.</summary>
    public static bool IsDate(string text) => DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    /// <summary>
    /// The exclusive end of the UTC day that starts at <paramref name="dayStart"/>, as a period reads a date alone: the
    /// next midnight, or the last instant there is for 9999-12-31, which has no next day.
    /// </summary>
    public static DateTimeOffset EndOfDay(DateTimeOffset dayStart) =>
        dayStart.UtcDateTime.Date == DateTime.MaxValue.Date ? DateTimeOffset.MaxValue : dayStart.AddDays(1);

    [GeneratedRegex(@"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
