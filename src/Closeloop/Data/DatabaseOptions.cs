using System.Data.Common;
using Npgsql;

namespace Closeloop.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Which database the process uses; read from <c>Database:Provider</c> and <c>ConnectionStrings:Closeloop</c>.</summary>
public sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; init; } = DatabaseProvider.Sqlite;

    public string ConnectionString { get; init; } = "Data Source=closeloop.db";

    /// <summary>SQLite synchronous mode. FULL fsyncs every commit, so an acknowledged write survives power loss
    /// as well as a process kill; group commit in the ingest writer keeps the cost per record small.</summary>
    public string SqliteSynchronous { get; init; } = "FULL";

    public static DatabaseOptions FromConfiguration(IConfiguration configuration)
    {
        var providerText = configuration["Database:Provider"] ?? "sqlite";
        var provider = providerText.Trim().ToLowerInvariant() switch
        {
            "sqlite" => DatabaseProvider.Sqlite,
            "postgres" or "postgresql" or "npgsql" => DatabaseProvider.Postgres,
            _ => throw new InvalidOperationException($"Database:Provider '{providerText}' is not supported; use 'sqlite' or 'postgres'."),
        };
        var connectionString = configuration.GetConnectionString("Closeloop");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            if (provider == DatabaseProvider.Postgres)
            {
                throw new InvalidOperationException("ConnectionStrings:Closeloop is required when Database:Provider is 'postgres'.");
            }
            connectionString = "closeloop.db";
        }
        if (provider == DatabaseProvider.Sqlite && !connectionString.Contains('=', StringComparison.Ordinal))
        {
            // A bare path is the friendliest way to name the embedded database file.
            connectionString = $"Data Source={connectionString}";
        }
        if (provider == DatabaseProvider.Postgres)
        {
            connectionString = WithPostgresDefaults(connectionString);
        }
        return new DatabaseOptions
        {
            Provider = provider,
            ConnectionString = connectionString,
            SqliteSynchronous = configuration["Database:SqliteSynchronous"] ?? "FULL",
        };
    }

    /// <summary>
    /// Checks a PostgreSQL connection string up front (a malformed one is one clear line, not a stack trace that may
    /// quote part of it) and turns on Npgsql's automatic preparation unless the string sets it: the ingest writer
    /// and the API run the same few statements thousands of times, and preparing them made a CSV import a third
    /// faster (docs/benchmarks.md, F14). A string that sets "Max Auto Prepare" itself (0 turns it off) is kept.
    /// </summary>
    private static string WithPostgresDefaults(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
        {
            // The parser's message can quote the offending part, which may be a password: name the setting only.
            throw new InvalidOperationException(
                "ConnectionStrings:Closeloop is not a valid PostgreSQL connection string; it takes key=value pairs separated by ';' " +
                "(Host, Port, Database, Username, Password, …).");
        }
        var named = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var setsAutoPrepare = named.Keys.Cast<string>().Any(key => key.Replace(" ", "", StringComparison.Ordinal).Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase));
        if (!setsAutoPrepare)
        {
            builder.MaxAutoPrepare = 64;
        }
        return builder.ConnectionString;
    }
}
