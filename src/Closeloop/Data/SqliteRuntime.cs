using SQLitePCL;

namespace Closeloop.Data;

/// <summary>
/// Process-wide settings of the native SQLite library, which it only accepts before its first use.
/// </summary>
public static class SqliteRuntime
{
    private static int _configured;

    /// <summary>The result code of the setting (0 = applied), for the start-up log.</summary>
    public static int MemoryStatistics { get; private set; } = -1;

    /// <summary>
    /// No memory statistics: by default every allocation SQLite makes takes a process-wide mutex to count memory in
    /// use, which nothing here reads. Under batch ingest SQLite's mutexes were 6 % of the server's CPU
    /// (pthread_mutex_lock/unlock; F8 in docs/benchmarks.md). The library stays in its "serialized" threading mode,
    /// where each connection's own mutex is kept: multi-thread mode measured a little faster, but it leaves a
    /// connection unguarded when a statement nobody disposed is finalised on the GC's thread while the pooled
    /// connection serves someone else. Called first thing in Program; if SQLite was already initialised (a test host
    /// started after another in the same process) the library refuses and keeps its default.
    /// </summary>
    public static void Configure()
    {
        if (Interlocked.Exchange(ref _configured, 1) == 1)
        {
            return;
        }
        Batteries_V2.Init();
        MemoryStatistics = raw.sqlite3_config(raw.SQLITE_CONFIG_MEMSTATUS, 0);
    }
}
