using Closeloop.Security;

namespace Closeloop.Broadcasts;

/// <summary>
/// A marquee message from a supervisor or an admin to the agents: all of them, one site, or one team. It shows on
/// every console page of the people it reaches until it expires or is withdrawn, and each reader is recorded.
/// </summary>
public sealed class Broadcast
{
    public const int MaxLength = 500;
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(4);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    public long Id { get; set; }
    public required string Message { get; set; }
    public string Priority { get; set; } = BroadcastPriority.Normal;

    /// <summary>Null for every site.</summary>
    public long? SiteId { get; set; }

    /// <summary>Null for every team of the site (or of every site).</summary>
    public long? TeamId { get; set; }
    public required string Sender { get; set; }
    public required string SenderName { get; set; }
    public long? SenderSiteId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? WithdrawnAt { get; set; }

    public bool IsLive(DateTimeOffset now) => WithdrawnAt is null && ExpiresAt > now;

    /// <summary>Whether a person of this site and team is in the audience.</summary>
    public bool Reaches(long? siteId, long? teamId) =>
        TeamId is { } team ? teamId == team : SiteId is not { } site || siteId == site;

    /// <summary>The sender, and admins, see who has read it; a site manager sees it for broadcasts to their own site.</summary>
    public bool ReceiptsVisibleTo(CallerScope scope) =>
        scope.Actor == Sender || (scope.Role == Roles.Admin && scope.SiteId is null) || (scope.Role == Roles.SiteManager && scope.SiteId is { } s && SiteId == s);

    public void Withdraw(DateTimeOffset now) => WithdrawnAt ??= now;
}

public static class BroadcastPriority
{
    public const string Normal = "normal";
    public const string Urgent = "urgent";

    public static readonly string[] All = [Normal, Urgent];
}

public sealed class BroadcastRead
{
    public long BroadcastId { get; set; }
    public long UserId { get; set; }
    public DateTimeOffset ReadAt { get; set; }
}
