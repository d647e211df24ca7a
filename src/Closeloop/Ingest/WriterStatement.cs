using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Closeloop.Ingest;

/// <summary>
/// One of the ingest writer's inserts or updates, prepared once per connection and run once or more per record.
/// On SQLite it binds by position straight through SQLitePCL: Microsoft.Data.Sqlite looks each parameter up by name,
/// converted to UTF-8, and opens a data reader on every execution, which cost more than SQLite's own work for the
/// writer's small statements (docs/benchmarks.md, F10). On PostgreSQL it is an ordinary <see cref="DbCommand"/>.
/// </summary>
public sealed class WriterStatement : IDisposable
{
    private readonly DbCommand? _command;
    private readonly sqlite3? _db;
    private readonly sqlite3_stmt? _stmt;
    private readonly int[] _positions = [];

    public WriterStatement(DbConnection connection, string sql, string[] parameterNames)
    {
        if (connection is SqliteConnection sqlite)
        {
            _db = sqlite.Handle!;
            Check(raw.sqlite3_prepare_v2(_db, sql, out var stmt));
            _stmt = stmt;
            // A name used twice in the SQL is one parameter to SQLite, so both uses take the same position.
            _positions = parameterNames.Select(name => raw.sqlite3_bind_parameter_index(stmt, name)).ToArray();
            if (_positions.Any(p => p == 0))
            {
                stmt.Dispose();
                throw new ArgumentException($"A parameter of [{string.Join(", ", parameterNames)}] is not in: {sql}", nameof(parameterNames));
            }
            return;
        }
        _command = IngestStore.CreateCommand(connection, sql, parameterNames);
    }

    /// <summary>The writer's transaction; SQLite needs none (its transaction belongs to the connection).</summary>
    public DbTransaction? Transaction
    {
        set
        {
            if (_command is not null)
            {
                _command.Transaction = value;
            }
        }
    }

    /// <summary>Sets the parameters in the order their names were given.</summary>
    public void Set(params object?[] values)
    {
        if (_command is not null)
        {
            IngestStore.Set(_command, values);
            return;
        }
        for (var i = 0; i < values.Length; i++)
        {
            var position = _positions[i];
            Check(values[i] switch
            {
                null => raw.sqlite3_bind_null(_stmt!, position),
                string text => raw.sqlite3_bind_text(_stmt!, position, text),
                long number => raw.sqlite3_bind_int64(_stmt!, position, number),
                int number => raw.sqlite3_bind_int64(_stmt!, position, number),
                bool flag => raw.sqlite3_bind_int64(_stmt!, position, flag ? 1 : 0),
                double real => raw.sqlite3_bind_double(_stmt!, position, real),
                byte[] bytes => raw.sqlite3_bind_blob(_stmt!, position, bytes),
                var other => throw new NotSupportedException($"The ingest writer does not bind values of type {other.GetType().Name}."),
            });
        }
    }

    /// <summary>Runs the statement and returns the number of rows it changed.</summary>
    public async Task<int> ExecuteAsync(CancellationToken ct)
    {
        if (_command is not null)
        {
            return await _command.ExecuteNonQueryAsync(ct);
        }
        Step();
        return raw.sqlite3_changes(_db!);
    }

    /// <summary>
    /// Runs an insert and returns the new row's id, or null when it inserted nothing (ON CONFLICT DO NOTHING). The SQL
    /// ends with <c>RETURNING id</c> on PostgreSQL only; SQLite reports the row through the connection.
    /// </summary>
    public async Task<long?> InsertAsync(CancellationToken ct)
    {
        if (_command is not null)
        {
            return await _command.ExecuteScalarAsync(ct) is long id ? id : null;
        }
        Step();
        // The writer owns this connection, so no other insert can come between the step and these calls.
        return raw.sqlite3_changes(_db!) == 0 ? null : raw.sqlite3_last_insert_rowid(_db!);
    }

    /// <summary>
    /// Runs a query and stands on its first row, if any. Dispose the result as soon as the row is read: on SQLite it
    /// resets the statement, on PostgreSQL it closes the reader.
    /// </summary>
    public async Task<WriterRow> ReadFirstAsync(CancellationToken ct)
    {
        if (_command is not null)
        {
            var reader = await _command.ExecuteReaderAsync(ct);
            return new WriterRow(null, reader, await reader.ReadAsync(ct));
        }
        var rc = raw.sqlite3_step(_stmt!);
        if (rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            raw.sqlite3_reset(_stmt!);
            Fail(rc);
        }
        return new WriterRow(_stmt, null, rc == raw.SQLITE_ROW);
    }

    /// <summary>Runs a query and maps each of its rows, for the few that return more than one.</summary>
    public async Task<List<T>> ReadAllAsync<T>(Func<WriterRow, T> map, CancellationToken ct)
    {
        var rows = new List<T>();
        if (_command is not null)
        {
            await using var reader = await _command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                rows.Add(map(new WriterRow(null, reader, true)));
            }
            return rows;
        }
        try
        {
            int rc;
            while ((rc = raw.sqlite3_step(_stmt!)) == raw.SQLITE_ROW)
            {
                rows.Add(map(new WriterRow(_stmt, null, true)));
            }
            if (rc != raw.SQLITE_DONE)
            {
                Fail(rc);
            }
        }
        finally
        {
            raw.sqlite3_reset(_stmt!);
        }
        return rows;
    }

    private void Step()
    {
        var rc = raw.sqlite3_step(_stmt!);
        // Reset at once: a statement left running would hold its read of the database and its bound values.
        raw.sqlite3_reset(_stmt!);
        if (rc != raw.SQLITE_DONE)
        {
            Fail(rc);
        }
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            Fail(rc);
        }
    }

    private void Fail(int rc) =>
        throw new SqliteException(
            $"SQLite Error {rc}: '{(_db is null ? "" : raw.sqlite3_errmsg(_db).utf8_to_string())}'.", rc,
            _db is null ? rc : raw.sqlite3_extended_errcode(_db));

    public void Dispose()
    {
        _stmt?.Dispose();
        _command?.Dispose();
    }
}

/// <summary>The first row of a <see cref="WriterStatement"/> query, read by column position.</summary>
public readonly struct WriterRow(sqlite3_stmt? stmt, DbDataReader? reader, bool found) : IDisposable
{
    public bool Found => found;

    public bool IsNull(int i) => reader?.IsDBNull(i) ?? raw.sqlite3_column_type(stmt!, i) == raw.SQLITE_NULL;

    public long Int64(int i) => reader?.GetInt64(i) ?? raw.sqlite3_column_int64(stmt!, i);

    public int Int32(int i) => reader?.GetInt32(i) ?? raw.sqlite3_column_int(stmt!, i);

    /// <summary>A flag: PostgreSQL's boolean, SQLite's integer 0 or 1.</summary>
    public bool Bool(int i) => reader?.GetBoolean(i) ?? raw.sqlite3_column_int64(stmt!, i) != 0;

    public string Text(int i) => reader?.GetString(i) ?? raw.sqlite3_column_text(stmt!, i).utf8_to_string();

    public string? TextOrNull(int i) => IsNull(i) ? null : Text(i);

    public byte[] Blob(int i) => reader is not null ? (byte[])reader.GetValue(i) : raw.sqlite3_column_blob(stmt!, i).ToArray();

    public void Dispose()
    {
        if (stmt is not null)
        {
            raw.sqlite3_reset(stmt);
        }
        reader?.Dispose();
    }
}
