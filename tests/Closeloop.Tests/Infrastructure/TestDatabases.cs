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

    /// <summary>A fresh, empty database for one app instance, and how to connect to it.</summary>
    public static string CreateDatabase(string provider)
    {
        if (provider == Sqlite)
        {
            var folder = Path.Combine(Path.GetTempPath(), "closeloop-tests");
            Directory.CreateDirectory(folder);
            return $"Data Source={Path.Combine(folder, $"{Guid.NewGuid():N}.db")}";
        }
        if (!PostgresAvailable)
        {
            throw new InvalidOperationException($"CI=true but PostgreSQL is not reachable at '{PostgresServer}': {PostgresProblem.Value}");
        }
        var name = $"closeloop_test_{Guid.NewGuid():N}";
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
