using Microsoft.Data.Sqlite;
using Npgsql;

namespace Closeloop.Data;

/// <summary>
/// Tells a database that is down, full or too busy from a fault in the request or the code: the first is answered
/// 503 with Retry-After, so an integration retries the same records later, instead of a 500 that reads as a bug.
/// </summary>
public static class DatabaseFailures
{
    // SQLITE_BUSY, SQLITE_LOCKED (the lock was held past busy_timeout), SQLITE_IOERR, SQLITE_FULL (the disk),
    // SQLITE_CANTOPEN (the file or its folder went away).
    private static readonly int[] SqliteUnavailable = [5, 6, 10, 13, 14];

    public static bool IsUnavailable(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // Npgsql's own judgement: a broken or refused connection, a timeout, an exhausted pool, and the
                // server's transient states (shutting down, too many connections, out of disk, a deadlock).
                case NpgsqlException { IsTransient: true }:
                case SqliteException sqlite when SqliteUnavailable.Contains(sqlite.SqliteErrorCode):
                    return true;
            }
        }
        return false;
    }
}
