using System.Security.Claims;

namespace Closeloop.Security;

/// <summary>The roles of PRODUCT.md's table, plus <c>integration</c> for machines that feed records in.</summary>
public static class Roles
{
    public const string Admin = "admin";
    public const string Executive = "executive";
    public const string SiteManager = "site_manager";
    public const string Supervisor = "supervisor";
    public const string Qa = "qa";
    public const string Recovery = "recovery";
    public const string Agent = "agent";
    public const string Department = "department";
    public const string Integration = "integration";

    public static readonly IReadOnlyList<string> All = [Admin, Executive, SiteManager, Supervisor, Qa, Recovery, Agent, Department, Integration];

    /// <summary>Who may write contacts and responses.</summary>
    public static readonly string[] Writers = [Admin, Integration, SiteManager, Supervisor, Agent];

    /// <summary>Who may work alerts: record recovery steps.</summary>
    public static readonly string[] AlertWorkers = [Admin, SiteManager, Supervisor, Qa, Recovery, Agent, Integration];

    /// <summary>Who may post broadcasts to agents: supervisors and admins (PRODUCT.md), and site managers for their site.</summary>
    public static readonly string[] Broadcasters = [Admin, SiteManager, Supervisor];

    /// <summary>Who may change rules, webhooks and the taxonomy.</summary>
    public static readonly string[] Configurers = [Admin];

    /// <summary>Who may read individual customers and their records (departments see aggregates only).</summary>
    public static readonly string[] RecordReaders = [Admin, Executive, SiteManager, Supervisor, Qa, Recovery, Agent, Integration];

    /// <summary>
    /// Who may read the figures (measures, dashboards, root-cause reports). Not a recovery specialist, who sees "alerts
    /// assigned to them, and their customers" (PRODUCT.md): a figure over every customer, whose records behind it they
    /// may not open, is neither theirs nor checkable.
    /// </summary>
    public static readonly string[] FigureReaders = [Admin, Executive, SiteManager, Supervisor, Qa, Agent, Department, Integration];

    /// <summary>Who may read cause alerts and improvement actions: company-wide aggregates, so no site-scoped role.</summary>
    public static readonly string[] CauseReaders = [Admin, Executive, Department, Integration];

    /// <summary>Who may work cause alerts and run improvement actions (a department only for the causes it owns).</summary>
    public static readonly string[] CauseWorkers = [Admin, Department];

    /// <summary>
    /// The roles PRODUCT.md confines to one site (site manager, supervisor, QA, agent). A scope without a site is every
    /// site, so these are refused without one rather than quietly widened to all of them.
    /// </summary>
    public static readonly string[] SiteBound = [SiteManager, Supervisor, Qa, Agent];

    /// <summary>
    /// An admin manages people, keys, rules and webhooks of every site, which a site scope could not confine; so an
    /// admin has no site (a site's own administrator is its site manager).
    /// </summary>
    public static bool RefusesASite(string? role) => role == Admin;

    public const string NoSiteForAnAdmin = "must be left out for an admin, who manages every site (a site's own administrator is its site_manager)";

    /// <summary>True for a caller confined to one site, by an API key's scope or a person's site.</summary>
    public static bool IsSiteScoped(ClaimsPrincipal user) => user.HasClaim(c => c.Type == ClaimNames.SiteId);

    public static string? Normalize(string? role)
    {
        if (string.IsNullOrWhiteSpace(role))
        {
            return null;
        }
        var r = role.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
        r = r switch
        {
            "sitemanager" or "site_manager" => SiteManager,
            "recovery_specialist" => Recovery,
            _ => r,
        };
        return All.Contains(r) ? r : null;
    }
}

public static class ClaimNames
{
    public const string SiteId = "closeloop:site_id";
    public const string SiteCode = "closeloop:site";
    public const string KeyId = "closeloop:key_id";
    public const string UserId = "closeloop:user_id";
    public const string Department = "closeloop:department";
    public const string TeamId = "closeloop:team_id";
}

/// <summary>What the caller may see: every site, or one.</summary>
public sealed record CallerScope(string Role, long? SiteId, string? SiteCode, string Actor)
{
    /// <summary>The e-mail of a person signed in with a cookie; null for an API key.</summary>
    public string? UserEmail { get; init; }

    /// <summary>The team of a person signed in with a cookie, when they belong to one.</summary>
    public long? TeamId { get; init; }

    public long? UserId { get; init; }

    /// <summary>The department of a <c>department</c> user, who sees only the causes it owns; null for every other role.</summary>
    public string? Department { get; init; }

    public bool IsSiteScoped => SiteId is not null;

    /// <summary>
    /// A recovery specialist signed in as a person sees "alerts assigned to them, and their customers" (PRODUCT.md):
    /// their e-mail, which alerts, customers, contacts and responses are then filtered by; null for every other caller.
    /// </summary>
    public string? RecoveryOwner => Role == Roles.Recovery ? UserEmail : null;

    public bool CanSeeSite(long siteId) => SiteId is null || SiteId == siteId;

    public static CallerScope From(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(ClaimTypes.Role) ?? string.Empty;
        var site = user.FindFirstValue(ClaimNames.SiteId);
        long? siteId = site is null ? null : long.Parse(site, System.Globalization.CultureInfo.InvariantCulture);
        var actor = user.FindFirstValue(ClaimTypes.Name) ?? "unknown";
        return new CallerScope(role, siteId, user.FindFirstValue(ClaimNames.SiteCode), actor)
        {
            UserEmail = user.FindFirstValue(ClaimTypes.Email),
            TeamId = user.FindFirstValue(ClaimNames.TeamId) is { } team ? long.Parse(team, System.Globalization.CultureInfo.InvariantCulture) : null,
            UserId = user.FindFirstValue(ClaimNames.UserId) is { } id ? long.Parse(id, System.Globalization.CultureInfo.InvariantCulture) : null,
            Department = role == Roles.Department ? user.FindFirstValue(ClaimNames.Department) ?? "" : null,
        };
    }
}
