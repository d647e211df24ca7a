using System.Globalization;
using System.Text.Json;
using Closeloop.Alerts;
using Closeloop.Data;
using Closeloop.Organisation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record SiteRow(string Code, string Name, string Kind, string TimeZone, string? Manager, Dictionary<string, string> Hours, bool DefaultHours, string[] Holidays);

/// <summary>
/// Sites: kind, time zone, weekly business hours and holidays, which business-hours deadlines count in. Changes go
/// through <see cref="SiteSettings"/>, as PUT /api/v1/sites/{code} and its holidays.ics import do.
/// </summary>
public sealed class SitesModel(CloseloopDb db, TimeProvider time, SiteCalendars calendars) : PageModel
{
    /// <summary>The days in the order a week is read, with the names the hours JSON uses.</summary>
    public static readonly string[] Days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    private const int MaxCalendarBytes = 1024 * 1024;

    public List<SiteRow> Sites { get; private set; } = [];

    public List<string> TimeZones { get; private set; } = [];

    public string? FailedSite { get; private set; }

    public Dictionary<string, string[]> Errors { get; private set; } = new(StringComparer.Ordinal);

    public string? Message { get; private set; }

    /// <summary>The site whose editor is open: the one asked for, or the one whose change failed.</summary>
    public SiteRow? Editing => Sites.FirstOrDefault(s => s.Code == (FailedSite ?? _edit));

    private string? _edit;

    public async Task<IActionResult> OnGetAsync(string? edit, string? saved, int? imported, CancellationToken ct)
    {
        if (saved is not null)
        {
            Message = imported is { } n ? $"{saved}: {n} day(s) imported from the calendar." : $"{saved}: saved.";
        }
        _edit = edit;
        await LoadAsync(ct);
        return edit is not null && Editing is null ? NotFound() : Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(string code, string? name, string? kind, string? timeZone, string? manager, string? holidays, CancellationToken ct)
    {
        if (!await db.Sites.AnyAsync(s => s.Code == code, ct))
        {
            return NotFound();
        }
        var hours = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var day in Days)
        {
            hours[day] = (string?)Request.Form[$"hours.{day}"] is { } text
                ? text.Split([',', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : [];
        }
        var update = new SiteUpdate(Blank(name), Blank(kind), Blank(timeZone), Blank(manager), JsonSerializer.SerializeToElement(hours),
            (holidays ?? "").Split([',', ';', ' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries));
        var change = await SiteSettings.ApplyAsync(db, calendars, code, update, time.GetUtcNow(), ct);
        if (change.Site is null)
        {
            return await FailAsync(code, change.Errors, ct);
        }
        return Redirect($"/admin/sites?saved={Uri.EscapeDataString(code)}");
    }

    public async Task<IActionResult> OnPostHolidaysAsync(string code, IFormFile? calendar, CancellationToken ct)
    {
        var site = await db.Sites.FirstOrDefaultAsync(s => s.Code == code, ct);
        if (site is null)
        {
            return NotFound();
        }
        if (calendar is null || calendar.Length == 0)
        {
            return await FailAsync(code, new() { ["calendar"] = ["choose an .ics file"] }, ct);
        }
        if (calendar.Length > MaxCalendarBytes)
        {
            return await FailAsync(code, new() { ["calendar"] = ["must be at most 1 MB"] }, ct);
        }
        using var reader = new StreamReader(calendar.OpenReadStream());
        var text = await reader.ReadToEndAsync(ct);
        if (await SiteSettings.ImportHolidaysAsync(db, calendars, site, text, ct) is not { } result)
        {
            return await FailAsync(code, new() { ["calendar"] = [SiteSettings.NotICalendar] }, ct);
        }
        return Redirect($"/admin/sites?saved={Uri.EscapeDataString(code)}&imported={result.Imported.ToString(CultureInfo.InvariantCulture)}");
    }

    public IEnumerable<string> ErrorsFor(string field) => Errors.Where(e => e.Key == field).SelectMany(e => e.Value);

    /// <summary>"Mon–Fri 09:00-17:00 · Sat 10:00-14:00": days with the same hours read as one range.</summary>
    public static string Summary(Dictionary<string, string> hours)
    {
        var parts = new List<string>();
        var i = 0;
        while (i < Days.Length)
        {
            var ranges = hours[Days[i]];
            var j = i;
            while (j + 1 < Days.Length && hours[Days[j + 1]] == ranges)
            {
                j++;
            }
            if (ranges.Length > 0)
            {
                var first = Title(Days[i]);
                parts.Add(i == j ? $"{first} {ranges}" : $"{first}–{Title(Days[j])} {ranges}");
            }
            i = j + 1;
        }
        return parts.Count == 0 ? "closed every day" : string.Join(" · ", parts);
    }

    private static string Title(string day) => char.ToUpperInvariant(day[0]) + day[1..];

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private async Task<IActionResult> FailAsync(string code, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        FailedSite = code;
        Errors = errors;
        HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var sites = await db.Sites.AsNoTracking().OrderBy(s => s.Code).Select(s => new
        {
            Site = s,
            Manager = db.Users.Where(u => u.Id == s.ManagerUserId).Select(u => u.Email).FirstOrDefault(),
        }).ToListAsync(ct);
        Sites = sites.Select(x =>
        {
            var s = x.Site;
            var parsed = (s.BusinessHours is null ? null : BusinessCalendar.ParseHours(s.BusinessHours, out _)) ?? BusinessCalendar.DefaultHours();
            var hours = Days.ToDictionary(d => d, d => string.Join(", ", parsed[DayOf(d)].Select(r => $"{Clock(r.Open)}-{Clock(r.Close)}")), StringComparer.Ordinal);
            return new SiteRow(s.Code, s.Name, s.Kind, s.TimeZone, x.Manager, hours, s.BusinessHours is null, SiteSettings.Holidays(s));
        }).ToList();
        TimeZones = TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Order(StringComparer.Ordinal).ToList();
    }

    private static DayOfWeek DayOf(string day) => (DayOfWeek)Array.IndexOf(["sun", "mon", "tue", "wed", "thu", "fri", "sat"], day);

    private static string Clock(TimeOnly at) => at == TimeOnly.MaxValue ? "24:00" : at.ToString("HH:mm", CultureInfo.InvariantCulture);
}
