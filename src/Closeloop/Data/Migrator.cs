using System.Data.Common;
using System.Reflection;

namespace Closeloop.Data;

/// <summary>
/// Applies the hand-written SQL migrations of the configured provider (Data/Migrations/{provider}/NNNN_name.sql),
/// each in its own transaction, and records them in schema_migrations. There is no EF design-time package here,
/// and plain SQL per provider keeps each database's schema readable and reviewable.
/// </summary>
public sealed class Migrator(Db db, ILogger<Migrator> logger)
{
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        if (db.IsSqlite)
        {
            // WAL is a property of the database file: set once, it lets readers run beside the single writer.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken);
        }
        else
        {
            // Two processes starting together must not both apply the same migration.
            await ExecuteAsync(connection, null, "SELECT pg_advisory_lock(727274)", cancellationToken);
        }
        try
        {
            await ExecuteAsync(connection, null,
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken);
            var applied = new HashSet<string>(StringComparer.Ordinal);
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT id FROM schema_migrations";
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            var newlyApplied = new List<string>();
            foreach (var (id, sql) in Scripts(db.Provider))
            {
                if (applied.Contains(id))
                {
                    continue;
                }
                // SQLite's default transaction takes the write lock at once (BEGIN IMMEDIATE), and PostgreSQL holds the
                // advisory lock, so a second migrator waits here and then sees the migration already applied.
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                if (await IsAppliedAsync(connection, transaction, id, cancellationToken))
                {
                    await transaction.RollbackAsync(cancellationToken);
                    continue;
                }
                await ExecuteAsync(connection, transaction, sql, cancellationToken);
                await using (var record = connection.CreateCommand())
                {
                    record.Transaction = transaction;
                    record.CommandText = "INSERT INTO schema_migrations (id, applied_at) VALUES (@id, @at)";
                    AddParameter(record, "@id", id);
                    AddParameter(record, "@at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }
                await transaction.CommitAsync(cancellationToken);
                logger.LogInformation("Applied migration {Migration}", id);
                newlyApplied.Add(id);
            }
            return newlyApplied;
        }
        finally
        {
            if (!db.IsSqlite)
            {
                await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock(727274)", CancellationToken.None);
            }
        }
    }

    public async Task<IReadOnlyList<string>> PendingAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await db.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken);
        var applied = new HashSet<string>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM schema_migrations";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied.Add(reader.GetString(0));
        }
        return Scripts(db.Provider).Select(s => s.Id).Where(id => !applied.Contains(id)).ToList();
    }

    internal static IEnumerable<(string Id, string Sql)> Scripts(DatabaseProvider provider)
    {
        var assembly = typeof(Migrator).Assembly;
        var folder = provider == DatabaseProvider.Sqlite ? ".sqlite." : ".postgres.";
        var names = assembly.GetManifestResourceNames()
            .Where(n => n.Contains(".Data.Migrations" + folder, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .OrderBy(n => n, StringComparer.Ordinal);
        foreach (var name in names)
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            var id = name[(name.IndexOf(folder, StringComparison.Ordinal) + folder.Length)..^4];
            yield return (id, reader.ReadToEnd());
        }
    }

    private static async Task<bool> IsAppliedAsync(DbConnection connection, DbTransaction transaction, string id, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations WHERE id = @id";
        AddParameter(command, "@id", id);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static void AddParameter(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
