using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Closeloop.Data;

/// <summary>
/// SQLite's built-in <c>lower()</c> folds ASCII letters only, so a search for "élodie" missed "Élodie" on SQLite
/// while PostgreSQL found it. EF Core translates <c>ToLower()</c> to <c>lower()</c>; on every SQLite connection the
/// DbContext opens, <c>lower()</c> is .NET's invariant lower-casing, as the search term's is. No index or stored
/// value depends on <c>lower()</c>, so replacing it changes only those comparisons.
/// </summary>
public sealed class SqliteFunctions : DbConnectionInterceptor
{
    public static readonly SqliteFunctions Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Register(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Register(connection);
        return Task.CompletedTask;
    }

    private static void Register(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            sqlite.CreateFunction("lower", (string? text) => text?.ToLowerInvariant(), isDeterministic: true);
        }
    }
}
