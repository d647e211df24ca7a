using SQLitePCL;

namespace Closeloop.Data;

/// <summary>
/// Process-wide settings of the native SQLite library, which it only accepts before its first use.
/// </summary>
public static class SqliteRuntime
{
    private static int _configured;

    /// <summary>The result codes of the two settings (0 = applied), for the start-up log.</summary>
    public static (int ThreadingMode, int MemoryStatistics) Result { get; private set; } = (-1, -1);

    /// <summary>
    /// Multi-thread mode and no memory statistics. The library ships "serialized": every call on a connection takes
    /// that connection's mutex, and every allocation takes a global one to count memory in use. ADO.NET never uses a
    /// connection from two threads at once (a connection is not thread-safe, and the pool hands each to one caller),
    /// so those locks guard nothing here; under ingest they were 6 % of the server's CPU
    /// (pthread_mutex_lock/unlock; F8 in docs/benchmarks.md). Called first thing in Program; if SQLite was already
    /// initialised (a test host started after another in the same process) the library refuses and keeps its defaults.
    /// </summary>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1)
        {
            return;
        }
        Batteries_V2.Init();
        Result = (raw.sqlite3_config(raw.SQLITE_CONFIG_MULTITHREAD), raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0));
    }
}
