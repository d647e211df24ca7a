using System.Security.Claims;
using Closeloop.Security;

namespace Closeloop.WebConsole;

/// <summary>What the layout and pages ask about the signed-in person.</summary>
public static class ConsoleUser
{
    public static string DisplayName(this ClaimsPrincipal user) =>
        user.FindFirstValue(PersonSignIn.DisplayNameClaim) ?? user.Identity?.Name ?? "";

    public static string Role(this ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.Role) ?? "";

    public static bool IsAdmin(this ClaimsPrincipal user) => user.IsInRole(Roles.Admin);

    /// <summary>Supervisors and admins post broadcasts (PRODUCT.md, capability 9); site managers run their site and may too.</summary>
    public static bool CanBroadcast(this ClaimsPrincipal user) =>
        user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Supervisor) || user.IsInRole(Roles.SiteManager);

    public static bool ReadsRecords(this ClaimsPrincipal user) => Roles.RecordReaders.Any(user.IsInRole);

    public static bool ReadsFigures(this ClaimsPrincipal user) => Roles.FigureReaders.Any(user.IsInRole);
}
