using System.Globalization;
using System.Text.Json;

namespace Closeloop.Alerts;

/// <summary>
/// A site's working week in its own time zone, with holidays. Deadlines counted in business hours advance only
/// while the site is open, so a 2-hour deadline raised at 16:30 on a Friday falls due at 10:30 on Monday.
/// </summary>
public sealed class BusinessCalendar
{
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    private readonly Dictionary<DayOfWeek, List<(TimeOnly Open, TimeOnly Close)>> _hours;
    private readonly HashSet<DateOnly> _holidays;

    public BusinessCalendar(TimeZoneInfo timeZone, Dictionary<DayOfWeek, List<(TimeOnly Open, TimeOnly Close)>> hours, IEnumerable<DateOnly> holidays)
    {
        TimeZone = timeZone;
        _hours = hours;
        _holidays = holidays.ToHashSet();
    }

    public TimeZoneInfo TimeZone { get; }

    public bool HasOpeningHours => _hours.Values.Any(h => h.Count > 0);

    /// <summary>Monday to Friday, 09:00 to 17:00, when a site has not said otherwise.</summary>
    public static Dictionary<DayOfWeek, List<(TimeOnly, TimeOnly)>> DefaultHours() =>
        Enum.GetValues<DayOfWeek>().ToDictionary(d => d, d => d is DayOfWeek.Saturday or DayOfWeek.Sunday
            ? new List<(TimeOnly, TimeOnly)>()
            : [(new TimeOnly(9, 0), new TimeOnly(17, 0))]);

    public static BusinessCalendar For(string? timeZone, string? hoursJson, string? holidaysJson)
    {
        var zone = TimeZoneInfo.Utc;
        if (timeZone is not null && TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var found))
        {
            zone = found;
        }
        var hours = hoursJson is null ? DefaultHours() : ParseHours(hoursJson, out _) ?? DefaultHours();
        var holidays = holidaysJson is null ? [] : ParseHolidays(holidaysJson, out _) ?? [];
        return new BusinessCalendar(zone, hours, holidays);
    }

    /// <summary>Reads {"mon": ["09:00-17:00"], "sat": []…}; days left out are closed.</summary>
    public static Dictionary<DayOfWeek, List<(TimeOnly Open, TimeOnly Close)>>? ParseHours(string json, out string? error)
    {
        error = null;
        var result = Enum.GetValues<DayOfWeek>().ToDictionary(d => d, _ => new List<(TimeOnly, TimeOnly)>());
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "must be an object of days, for example {\"mon\": [\"09:00-17:00\"]}";
                return null;
            }
            foreach (var day in document.RootElement.EnumerateObject())
            {
                var index = Array.IndexOf(DayNames, day.Name.ToLowerInvariant()[..Math.Min(3, day.Name.Length)]);
                if (index < 0 || day.Value.ValueKind != JsonValueKind.Array)
                {
                    error = $"'{day.Name}' is not a day with a list of \"HH:mm-HH:mm\" ranges";
                    return null;
                }
                foreach (var range in day.Value.EnumerateArray())
                {
                    var parts = range.GetString()?.Split('-');
                    if (parts is not { Length: 2 }
                        || !TimeOnly.TryParseExact(parts[0].Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var open)
                        || !TimeOnly.TryParseExact(parts[1].Trim() == "24:00" ? "23:59" : parts[1].Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var close)
                        || close <= open)
                    {
                        error = $"'{range}' on {day.Name} is not a range such as \"09:00-17:00\"";
                        return null;
                    }
                    if (parts[1].Trim() == "24:00")
                    {
                        close = TimeOnly.MaxValue;
                    }
                    result[(DayOfWeek)index].Add((open, close));
                }
            }
        }
        catch (JsonException)
        {
            error = "is not valid JSON";
            return null;
        }
        catch (InvalidOperationException)
        {
            error = "ranges must be strings such as \"09:00-17:00\"";
            return null;
        }
        foreach (var list in result.Values)
        {
            list.Sort();
        }
        return result;
    }

    public static List<DateOnly>? ParseHolidays(string json, out string? error)
    {
        error = null;
        try
        {
            var dates = new List<DateOnly>();
            foreach (var value in JsonSerializer.Deserialize<string[]>(json) ?? [])
            {
                if (!DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    error = $"'{value}' is not a date such as 2026-12-25";
                    return null;
                }
                dates.Add(date);
            }
            return dates;
        }
        catch (JsonException)
        {
            error = "must be a list of dates such as [\"2026-12-25\"]";
            return null;
        }
    }

    /// <summary>The instant at which <paramref name="duration"/> of opening time has passed since <paramref name="start"/>.</summary>
    public DateTimeOffset Add(DateTimeOffset start, TimeSpan duration)
    {
        if (!HasOpeningHours)
        {
            return start + duration;
        }
        var remaining = duration;
        var localDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(start, TimeZone).DateTime);
        // Two years of closed days would mean a calendar with no opening hours in practice.
        for (var day = 0; day < 800; day++, localDate = localDate.AddDays(1))
        {
            foreach (var (open, close) in Intervals(localDate))
            {
                if (close <= start)
                {
                    continue;
                }
                var from = open > start ? open : start;
                var available = close - from;
                if (remaining <= available)
                {
                    return from + remaining;
                }
                remaining -= available;
            }
        }
        return start + duration;
    }

    /// <summary>How much opening time lies between two instants (zero if <paramref name="to"/> is earlier).</summary>
    public TimeSpan Between(DateTimeOffset from, DateTimeOffset to)
    {
        if (to <= from)
        {
            return TimeSpan.Zero;
        }
        if (!HasOpeningHours)
        {
            return to - from;
        }
        var total = TimeSpan.Zero;
        var localDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(from, TimeZone).DateTime);
        var last = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(to, TimeZone).DateTime);
        for (; localDate <= last; localDate = localDate.AddDays(1))
        {
            foreach (var (open, close) in Intervals(localDate))
            {
                var a = open > from ? open : from;
                var b = close < to ? close : to;
                if (b > a)
                {
                    total += b - a;
                }
            }
        }
        return total;
    }

    private IEnumerable<(DateTimeOffset Open, DateTimeOffset Close)> Intervals(DateOnly localDate)
    {
        if (_holidays.Contains(localDate))
        {
            yield break;
        }
        foreach (var (open, close) in _hours[localDate.DayOfWeek])
        {
            var openUtc = ToUtc(localDate.ToDateTime(open));
            var closeUtc = close == TimeOnly.MaxValue ? ToUtc(localDate.AddDays(1).ToDateTime(TimeOnly.MinValue)) : ToUtc(localDate.ToDateTime(close));
            if (closeUtc > openUtc)
            {
                yield return (openUtc, closeUtc);
            }
        }
    }

    /// <summary>Local wall-clock time to an instant; a time skipped by a DST change moves forward to when the clock resumes.</summary>
    private DateTimeOffset ToUtc(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        for (var guard = 0; TimeZone.IsInvalidTime(local) && guard < 180; guard++)
        {
            local = local.AddMinutes(1);
        }
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, TimeZone), TimeSpan.Zero);
    }
}
