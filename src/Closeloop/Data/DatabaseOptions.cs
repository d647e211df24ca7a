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
        return new DatabaseOptions
        {
            Provider = provider,
            ConnectionString = connectionString,
            SqliteSynchronous = configuration["Database:SqliteSynchronous"] ?? "FULL",
        };
    }
}
