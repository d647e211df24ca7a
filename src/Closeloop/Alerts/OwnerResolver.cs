using System.Data.Common;
using Closeloop.Data;
using Closeloop.Security;

namespace Closeloop.Alerts;

/// <summary>
/// Turns an owner spec into the person (by e-mail) or pool who owns an alert. A pool assigns its least-loaded
/// member who may work the alert; a team supervisor, site manager or head of service that is not configured falls
/// back up the line. A new alert that finds nobody says so ("unassigned", or the pool's name); an escalation that
/// finds nobody keeps the alert with its owner (<see cref="FindAsync"/> answers null).
/// </summary>
public sealed class OwnerResolver(IConfiguration configuration)
{
    public const string Unassigned = "unassigned";

    /// <summary>The roles that may work alerts, as people: an integration is a machine and never owns one.</summary>
    internal static readonly string[] OwnerRoles = [.. Roles.AlertWorkers.Where(r => r != Roles.Integration)];

    // The SQL form of MayOwn, for the members of a pool: keep the two together.
    private static readonly string MayOwnSql =
        $"u.disabled = @f AND (u.site_id IS NULL OR u.site_id = @s) AND u.role IN ({string.Join(", ", OwnerRoles.Select(r => $"'{r}'"))})";

    /// <summary>
    /// Whether a person may own an alert of a site: an owner who cannot open the alert (another site's scope, a
    /// read-only role, a disabled account) would leave the customer with nobody.
    /// </summary>
    public static bool MayOwn(string role, long? userSiteId, bool disabled, long alertSiteId) =>
        !disabled && OwnerRoles.Contains(role) && (userSiteId is null || userSiteId == alertSiteId);

    public async Task<string> ResolveAsync(DbConnection connection, DbTransaction? transaction, OwnerSpec spec, long siteId, long teamId, CancellationToken ct) =>
        await FindAsync(connection, transaction, spec, siteId, teamId, ct) ?? (spec.Kind == "pool" ? $"pool:{spec.Name}" : Unassigned);

    /// <summary>The person the spec (or the line above it) names for this site and team, or null when nobody is there.</summary>
    public async Task<string?> FindAsync(DbConnection connection, DbTransaction? transaction, OwnerSpec spec, long siteId, long teamId, CancellationToken ct)
    {
        switch (spec.Kind)
        {
            case "user":
                // A rule's named person who cannot open an alert of this site (another site's, since the rule was
                // written) would own it without seeing it: the line above takes it instead.
                return await ScalarAsync(connection, transaction, $"SELECT u.email FROM users u WHERE u.email = @e AND {MayOwnSql}",
                        ct, ("@e", spec.Name), ("@f", false), ("@s", siteId))
                    ?? await FindAsync(connection, transaction, new OwnerSpec("siteManager", null), siteId, teamId, ct);
            case "pool":
                return await ScalarAsync(connection, transaction,
                    $"SELECT u.email FROM pool_members p JOIN users u ON u.id = p.user_id WHERE p.pool = @p AND {MayOwnSql} " +
                    "ORDER BY (SELECT COUNT(*) FROM alerts a WHERE a.owner = u.email AND a.status IN ('open', 'acknowledged', 'waiting_on_customer')), u.id LIMIT 1",
                    ct, ("@p", spec.Name), ("@f", false), ("@s", siteId));
            case "teamSupervisor":
                // Team codes are shared by every site that names them, so the team's supervisor may work at another
                // site than this record's; then they could not open the alert, and the site's manager takes it.
                return await ScalarAsync(connection, transaction,
                    $"SELECT u.email FROM teams t JOIN users u ON u.id = t.supervisor_user_id WHERE t.id = @t AND {MayOwnSql}", ct, ("@t", teamId), ("@f", false), ("@s", siteId))
                    ?? await FindAsync(connection, transaction, new OwnerSpec("siteManager", null), siteId, teamId, ct);
            case "siteManager":
                // The manager named on the site, else the site's own site_manager account (the oldest, so the
                // choice does not change from one alert to the next), else the line above.
                return await ScalarAsync(connection, transaction,
                    $"SELECT u.email FROM sites s JOIN users u ON u.id = s.manager_user_id WHERE s.id = @s AND {MayOwnSql}", ct, ("@s", siteId), ("@f", false))
                    ?? await ScalarAsync(connection, transaction,
                        "SELECT email FROM users WHERE role = @r AND site_id = @s AND disabled = @f ORDER BY created_at, id LIMIT 1",
                        ct, ("@r", Roles.SiteManager), ("@s", siteId), ("@f", false))
                    ?? await FindAsync(connection, transaction, new OwnerSpec("headOfService", null), siteId, teamId, ct);
            default:
                return configuration["Alerts:HeadOfService"] is { Length: > 0 } head ? head.ToLowerInvariant() : null;
        }
    }

    private static async Task<string?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Migrator.AddParameter(command, name, value);
        }
        return await command.ExecuteScalarAsync(ct) as string;
    }
}
