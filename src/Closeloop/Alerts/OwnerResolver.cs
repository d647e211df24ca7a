using System.Data.Common;
using Closeloop.Data;

namespace Closeloop.Alerts;

/// <summary>
/// Turns an owner spec into the person (by e-mail) or pool who owns an alert. A pool assigns its least-loaded
/// member; a team supervisor, site manager or head of service that is not configured falls back up the line,
/// so an alert is never owned by nobody without saying so ("unassigned").
/// </summary>
public sealed class OwnerResolver(IConfiguration configuration)
{
    public const string Unassigned = "unassigned";

    public async Task<string> ResolveAsync(DbConnection connection, DbTransaction? transaction, OwnerSpec spec, long siteId, long teamId, CancellationToken ct)
    {
        switch (spec.Kind)
        {
            case "user":
                return spec.Name!;
            case "pool":
                return await ScalarAsync(connection, transaction,
                    "SELECT u.email FROM pool_members p JOIN users u ON u.id = p.user_id WHERE p.pool = @p AND u.disabled = @f " +
                    "ORDER BY (SELECT COUNT(*) FROM alerts a WHERE a.owner = u.email AND a.status IN ('open', 'acknowledged', 'waiting_on_customer')), u.id LIMIT 1",
                    ct, ("@p", spec.Name), ("@f", false)) ?? $"pool:{spec.Name}";
            case "teamSupervisor":
                return await ScalarAsync(connection, transaction,
                    "SELECT u.email FROM teams t JOIN users u ON u.id = t.supervisor_user_id WHERE t.id = @t AND u.disabled = @f", ct, ("@t", teamId), ("@f", false))
                    ?? await ResolveAsync(connection, transaction, new OwnerSpec("siteManager", null), siteId, teamId, ct);
            case "siteManager":
                return await ScalarAsync(connection, transaction,
                    "SELECT u.email FROM sites s JOIN users u ON u.id = s.manager_user_id WHERE s.id = @s AND u.disabled = @f", ct, ("@s", siteId), ("@f", false))
                    ?? await ResolveAsync(connection, transaction, new OwnerSpec("headOfService", null), siteId, teamId, ct);
            default:
                return configuration["Alerts:HeadOfService"] is { Length: > 0 } head ? head.ToLowerInvariant() : Unassigned;
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
