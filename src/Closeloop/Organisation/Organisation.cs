namespace Closeloop.Organisation;

/// <summary>A contact-center site: in-house or an outsourced vendor. Every contact and response belongs to one.</summary>
public sealed class Site
{
    public long Id { get; set; }
    public required string Code { get; set; }
    public required string Name { get; set; }
    public string Kind { get; set; } = SiteKinds.InHouse;
    public string TimeZone { get; set; } = "UTC";
    public DateTimeOffset CreatedAt { get; set; }
    public long? ManagerUserId { get; set; }

    /// <summary>Weekly opening hours as JSON ({"mon": ["09:00-17:00"]…}); null means Monday to Friday, 09:00 to 17:00.</summary>
    public string? BusinessHours { get; set; }

    /// <summary>Closed dates as a JSON list of yyyy-MM-dd in the site's time zone.</summary>
    public string? Holidays { get; set; }
}

public static class SiteKinds
{
    public const string InHouse = "in_house";
    public const string Vendor = "vendor";

    public static bool IsValid(string kind) => kind is InHouse or Vendor;
}

public sealed class Team
{
    public long Id { get; set; }
    public required string Code { get; set; }
    public required string Name { get; set; }
    public long SiteId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public long? SupervisorUserId { get; set; }
}

public sealed class Agent
{
    public long Id { get; set; }
    public required string Code { get; set; }
    public required string Name { get; set; }
    public long TeamId { get; set; }
    public long SiteId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
