using Microsoft.Data.Sqlite;
using Npgsql;

namespace Closeloop.Tests.Infrastructure;

/// <summary>
/// The databases every data-layer test runs on. PostgreSQL comes from CLOSELOOP_TEST_POSTGRES (default: the
/// local server that .ci/run starts). Without it a developer's run covers SQLite only and says so with a
/// skipped test; under CI=true a missing PostgreSQL fails the run instead of passing quietly.
/// </summary>
public static class TestDatabases
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    public static string PostgresServer { get; } =
        Environment.GetEnvironmentVariable("CLOSELOOP_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Timeout=5";

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    private static readonly Lazy<string?> PostgresProblem = new(() =>
    {
        try
        {
            using var connection = new NpgsqlConnection(PostgresServer);
            connection.Open();
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidOperationException)
        {
            return ex.Message;
        }
    });

    public static bool PostgresAvailable => PostgresProblem.Value is null;

    /// <summary>Every provider to run on: PostgreSQL when it is reachable, and always under CI.</summary>
    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string> { Sqlite };
            if (PostgresAvailable || IsCi)
            {
                data.Add(Postgres);
            }
            return data;
        }
    }

    public static string SkipReasonForPostgres =>
        PostgresAvailable || IsCi ? null! : $"PostgreSQL is not reachable ({PostgresProblem.Value}); data-layer tests ran on SQLite only.";

    /// <summary>
    /// Names carry the test process's id, so that a later run can tell what a finished run left behind (the shared
    /// apps, a test that failed half-way, a run that was killed) from what a concurrent run is still using.
    /// </summary>
    private static readonly string Tag = $"p{Environment.ProcessId}";

    private static readonly string SqliteFolder = Path.Combine(Path.GetTempPath(), "closeloop-tests");

    private static readonly Lazy<bool> Swept = new(() =>
    {
        SweepLeftovers();
        return true;
    });

    /// <summary>A fresh, empty database for one app instance, and how to connect to it.</summary>
    public static string CreateDatabase(string provider)
    {
        _ = Swept.Value;
        return Create(provider);
    }

    /// <summary>
    /// Drops a database made by <see cref="CreateDatabase"/> once nothing uses it. Best effort: cleaning up must
    /// never fail a test, and what is left the next run sweeps away.
    /// </summary>
    public static void Drop(string provider, string connectionString)
    {
        try
        {
            if (provider == Sqlite)
            {
                var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
                SqliteConnection.ClearPool(new SqliteConnection(connectionString));
                foreach (var path in new[] { file, file + "-wal", file + "-shm", file + "-journal" })
                {
                    File.Delete(path);
                }
            }
            else
            {
                NpgsqlConnection.ClearPool(new NpgsqlConnection(connectionString));
                using var connection = new NpgsqlConnection(PostgresServer);
                connection.Open();
                DropPostgres(connection, new NpgsqlConnectionStringBuilder(connectionString).Database!);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NpgsqlException or InvalidOperationException)
        {
            // The next run's sweep takes it.
        }
    }

    private static void DropPostgres(NpgsqlConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        // FORCE ends the sessions a background worker of the app may still hold.
        command.CommandText = $"DROP DATABASE IF EXISTS {name} WITH (FORCE)";
        command.ExecuteNonQuery();
    }

    /// <summary>Deletes the databases of test processes that are no longer running.</summary>
    private static void SweepLeftovers()
    {
        static bool Finished(string name)
        {
            var match = System.Text.RegularExpressions.Regex.Match(name, @"^p(\d+)[-_]");
            if (!match.Success || !int.TryParse(match.Groups[1].Value, out var pid))
            {
                return false;
            }
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                return process.HasExited;
            }
            catch (ArgumentException)
            {
                return true;
            }
        }

        if (Directory.Exists(SqliteFolder))
        {
            foreach (var file in Directory.GetFiles(SqliteFolder).Where(f => Finished(Path.GetFileName(f))))
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                }
            }
        }
        if (!PostgresAvailable)
        {
            return;
        }
        try
        {
            using var connection = new NpgsqlConnection(PostgresServer);
            connection.Open();
            var names = new List<string>();
            using (var list = connection.CreateCommand())
            {
                list.CommandText = "SELECT datname FROM pg_database WHERE datname LIKE 'closeloop\\_test\\_p%'";
                using var reader = list.ExecuteReader();
                while (reader.Read())
                {
                    names.Add(reader.GetString(0));
                }
            }
            foreach (var name in names.Where(n => Finished(n["closeloop_test_".Length..])))
            {
                DropPostgres(connection, name);
            }
        }
        catch (NpgsqlException)
        {
            // Another run may be sweeping the same database at the same moment; what is left waits for the next one.
        }
    }

    private static string Create(string provider)
    {
        if (provider == Sqlite)
        {
            Directory.CreateDirectory(SqliteFolder);
            return $"Data Source={Path.Combine(SqliteFolder, $"{Tag}-{Guid.NewGuid():N}.db")}";
        }
        if (!PostgresAvailable)
        {
            throw new InvalidOperationException($"CI=true but PostgreSQL is not reachable at '{PostgresServer}': {PostgresProblem.Value}");
        }
        var name = $"closeloop_test_{Tag}_{Guid.NewGuid():N}";
        using (var connection = new NpgsqlConnection(PostgresServer))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {name}";
            command.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(PostgresServer) { Database = name, Timeout = 15 }.ConnectionString;
    }
}

/// <summary>A fact that is visibly skipped, never silently passed, when PostgreSQL is missing outside CI.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (TestDatabases.SkipReasonForPostgres is { } reason)
        {
            Skip = reason;
        }
    }
}
