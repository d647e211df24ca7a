using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Closeloop.Data;

/// <summary>
/// Opens raw connections for the paths where EF Core's change tracking costs too much (the ingest writer,
/// migrations) and sets the per-connection pragmas SQLite needs.
/// </summary>
public sealed class Db(DatabaseOptions options)
{
    public DatabaseOptions Options { get; } = options;

    public DatabaseProvider Provider => Options.Provider;

    public bool IsSqlite => Options.Provider == DatabaseProvider.Sqlite;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        DbConnection connection = IsSqlite
            ? new SqliteConnection(Options.ConnectionString)
            : new NpgsqlConnection(Options.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        if (IsSqlite)
        {
            await ConfigureSqliteAsync(connection, Options.SqliteSynchronous, cancellationToken);
        }
        return connection;
    }

    internal static async Task ConfigureSqliteAsync(DbConnection connection, string synchronous, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        // busy_timeout lets the CLI write beside a running server: writers wait for the lock instead of failing.
        command.CommandText = $"PRAGMA synchronous={Sanitize(synchronous)}; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=OFF;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Sanitize(string synchronous) => synchronous.ToUpperInvariant() switch
    {
        "OFF" or "NORMAL" or "FULL" or "EXTRA" => synchronous.ToUpperInvariant(),
        _ => "FULL",
    };
}
