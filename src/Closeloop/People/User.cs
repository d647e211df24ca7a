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

    /// <summary>
    /// Carried by every sign-in cookie of this person; a new one (<see cref="EndSessions"/>) ends all of them. Null
    /// until the first sign-in after migration 0012.
    /// </summary>
    public string? SessionStamp { get; set; }

    /// <summary>Signing out and a new password end every session of the person: a copied cookie stops working too.</summary>
    public void EndSessions() => SessionStamp = NewSessionStamp();

    /// <summary>A sign-in gives the person a stamp if they have none yet (accounts from before migration 0012).</summary>
    public void EnsureSessionStamp() => SessionStamp ??= NewSessionStamp();

    private static string NewSessionStamp() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>After this many wrong passwords in a row the account is locked for <see cref="LockoutDuration"/>.</summary>
    public const int MaxFailedLogins = 5;

    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    public bool IsLockedOut(DateTimeOffset now) => LockedUntil is { } until && until > now;

    public void LoginSucceeded()
    {
        FailedLogins = 0;
        LockedUntil = null;
    }
}

public sealed class PoolMember
{
    public required string Pool { get; set; }
    public long UserId { get; set; }
}
