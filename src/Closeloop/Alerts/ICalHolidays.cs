using System.Globalization;

namespace Closeloop.Alerts;

/// <summary>
/// Reads the all-day events of an iCalendar file (RFC 5545) as closed dates: what a public-holiday calendar
/// exported from any calendar app contains. Multi-day events close every day until DTEND (exclusive).
/// </summary>
public static class ICalHolidays
{
    public static List<DateOnly> Parse(string ics)
    {
        var dates = new List<DateOnly>();
        DateOnly? start = null, end = null;
        // Unfold continuation lines first (a line starting with a space continues the previous one).
        var lines = ics.Replace("\r\n ", "", StringComparison.Ordinal).Replace("\n ", "", StringComparison.Ordinal).Split('\n');
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("BEGIN:VEVENT", StringComparison.OrdinalIgnoreCase))
            {
                start = end = null;
            }
            else if (line.StartsWith("DTSTART", StringComparison.OrdinalIgnoreCase))
            {
                start = DateOf(line);
            }
            else if (line.StartsWith("DTEND", StringComparison.OrdinalIgnoreCase))
            {
                end = DateOf(line);
            }
            else if (line.StartsWith("END:VEVENT", StringComparison.OrdinalIgnoreCase) && start is { } first)
            {
                var last = end is { } e && e > first ? e.AddDays(-1) : first;
                for (var day = first; day <= last && dates.Count < 10_000; day = day.AddDays(1))
                {
                    dates.Add(day);
                }
            }
        }
        return dates.Distinct().Order().ToList();
    }

    private static DateOnly? DateOf(string line)
    {
        var value = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        return value.Length >= 8 && DateOnly.TryParseExact(value[..8], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date : null;
    }
}
