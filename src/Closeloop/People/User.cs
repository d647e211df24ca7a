namespace Closeloop.People;

/// <summary>A person who signs in to the console, owns alerts, and may belong to pools.</summary>
public sealed class User
{
    public long Id { get; set; }
    public required string Email { get; set; }
    public required string Name { get; set; }
    public string? PasswordHash { get; set; }
    public required string Role { get; set; }
    public long? SiteId { get; set; }
    public long? TeamId { get; set; }
    public string? Department { get; set; }
    public int FailedLogins { get; set; }
    public DateTimeOffset? LockedUntil { get; set; }
    public bool Disabled { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

public sealed class PoolMember
{
    public required string Pool { get; set; }
    public long UserId { get; set; }
}
