using System.Globalization;
using System.Text.Json;
using Closeloop.Alerts;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Organisation;

/// <summary>What a site change came to: the site (and whether it is new), or the fields that were wrong.</summary>
public sealed record SiteChange(Site? Site, bool Created, Dictionary<string, string[]> Errors);

/// <summary>
/// Creating and changing sites (kind, time zone, business hours, holidays, manager), shared by the HTTP API and
/// the console's sites page, so both validate the same way and both refresh the business calendars.
/// </summary>
public static class SiteSettings
{
    public static async Task<SiteChange> ApplyAsync(CloseloopDb db, SiteCalendars calendars, string code, SiteUpdate update, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var kind = update.Kind?.Trim().ToLowerInvariant().Replace('-', '_');
        if (kind == "outsourced" || kind == "vendor")
        {
            kind = SiteKinds.Vendor;
        }
        if (kind is not null && !SiteKinds.IsValid(kind))
        {
            errors["kind"] = ["must be in_house or vendor"];
        }
        if (update.TimeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(update.TimeZone, out _))
        {
            errors["timeZone"] = ["must be an IANA time zone such as Europe/London"];
        }
        if (update.Name is { Length: > 200 })
        {
            errors["name"] = ["must be at most 200 characters"];
        }
        var normalized = code.Trim().ToLowerInvariant();
        if (normalized.Length is 0 or > 100)
        {
            errors["code"] = ["must be 1 to 100 characters"];
        }
        string? hours = null;
        if (update.BusinessHours is { ValueKind: not JsonValueKind.Null } given)
        {
            hours = given.GetRawText();
            if (BusinessCalendar.ParseHours(hours, out var hoursError) is null)
            {
                errors["businessHours"] = [hoursError!];
            }
        }
        string? holidays = null;
        if (update.Holidays is { } days)
        {
            holidays = JsonSerializer.Serialize(days);
            if (BusinessCalendar.ParseHolidays(holidays, out var holidayError) is null)
            {
                errors["holidays"] = [holidayError!];
            }
        }
        long? managerId = null;
        if (update.Manager is { } manager && (managerId = await db.Users.Where(u => u.Email == manager.ToLowerInvariant()).Select(u => (long?)u.Id).FirstOrDefaultAsync(ct)) is null)
        {
            errors["manager"] = ["no user with this e-mail"];
        }
        if (errors.Count > 0)
        {
            return new SiteChange(null, false, errors);
        }
        var site = await db.Sites.FirstOrDefaultAsync(s => s.Code == normalized, ct);
        var created = site is null;
        if (site is null)
        {
            site = new Site { Code = normalized, Name = normalized, CreatedAt = now };
            db.Sites.Add(site);
        }
        site.Name = update.Name?.Trim() ?? site.Name;
        site.Kind = kind ?? site.Kind;
        site.TimeZone = update.TimeZone ?? site.TimeZone;
        site.BusinessHours = hours ?? site.BusinessHours;
        site.Holidays = holidays ?? site.Holidays;
        site.ManagerUserId = managerId ?? site.ManagerUserId;
        await db.SaveChangesAsync(ct);
        calendars.Invalidate();
        return new SiteChange(site, created, errors);
    }

    /// <summary>Adds the all-day events of an iCalendar file to a site's holidays; null when the text is not iCalendar.</summary>
    public static async Task<(int Imported, string[] Holidays)?> ImportHolidaysAsync(CloseloopDb db, SiteCalendars calendars, Site site, string ics, CancellationToken ct)
    {
        if (!ics.Contains("BEGIN:VCALENDAR", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var imported = ICalHolidays.Parse(ics);
        var existing = Holidays(site);
        var merged = existing.Concat(imported.Select(d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))).Distinct().Order(StringComparer.Ordinal).ToArray();
        site.Holidays = JsonSerializer.Serialize(merged);
        await db.SaveChangesAsync(ct);
        calendars.Invalidate();
        return (imported.Count, merged);
    }

    public const string NotICalendar = "must be an iCalendar file (text/calendar) with BEGIN:VCALENDAR";

    public static string[] Holidays(Site site) => site.Holidays is null ? [] : JsonSerializer.Deserialize<string[]>(site.Holidays) ?? [];
}

/// <summary>
/// Sites are created on first sight of their code, in records and also in a key or a person scoped to one: a
/// deployment may well create its vendor's key before the vendor's first record arrives.
/// </summary>
public static class SiteCodes
{
    public const int MaxLength = 100;

    /// <summary>The code as stored (trimmed, lower-cased), or null with an error when it can't be one.</summary>
    public static string? Normalize(string raw, Dictionary<string, string[]> errors, string field = "site")
    {
        var code = raw.Trim().ToLowerInvariant();
        if (code.Length is 0 or > MaxLength)
        {
            errors[field] = [$"must be a site code of 1 to {MaxLength} characters"];
            return null;
        }
        return code;
    }

    /// <summary>The id of the site with this code, created (in-house, UTC, named by its code) when there is none yet.</summary>
    public static async Task<long> FindOrCreateAsync(CloseloopDb db, string code, DateTimeOffset now, CancellationToken ct)
    {
        if (await db.Sites.Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct) is { } id)
        {
            return id;
        }
        var site = new Site { Code = code, Name = code, CreatedAt = now };
        db.Sites.Add(site);
        await db.SaveChangesAsync(ct);
        return site.Id;
    }
}
