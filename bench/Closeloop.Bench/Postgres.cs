using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Closeloop.Bench;

/// <summary>
/// Figure 2 on PostgreSQL: the raw Npgsql prepared-insert loop, POST /api/v1/responses/batch and `closeloop import
/// responses`, each into its own scratch database (clbench_…) created for the repetition and dropped at its end.
/// </summary>
public static class PostgresFigures
{
    private const int Port = 5231;

    public static async Task RunAsync(Options o)
    {
        var server = new NpgsqlConnectionStringBuilder(o.Postgres);
        var settings = RawPostgres.Settings(o.Postgres, ["server_version", "fsync", "synchronous_commit", "shared_buffers"]);
        Report.Line("## 2 on PostgreSQL. Batch ingest and CSV import (rows/s, durable, PostgreSQL)");
        Report.Line();
        Report.Line($"PostgreSQL {settings["server_version"]} at {server.Host}:{server.Port} (fsync={settings["fsync"]}, synchronous_commit={settings["synchronous_commit"]}, shared_buffers={settings["shared_buffers"]}), shared with other work. " +
            $"Per repetition, back to back, each into a database created for it and dropped at the end of the repetition: raw Npgsql prepared-insert loop ({o.BatchRows:N0} rows, one row per ExecuteNonQuery, " +
            $"10,000 rows per transaction, responses' columns + unique external_id; then the same with the three other indexes of responses; the loop is run once on 10,000 rows before the first repetition, untimed); POST /api/v1/responses/batch " +
            $"({o.BatchRows / 1000} requests of 1,000 records, {o.Clients} concurrent clients, database migrated by `closeloop migrate` beforehand, after {o.Warmup} s of warm-up batches); " +
            $"`closeloop import responses` of a {o.ImportRows:N0}-row CSV (wall time of the import command, start-up included; the database was created and migrated by `closeloop migrate` beforehand, not timed, " +
            "since on PostgreSQL import refuses an unmigrated schema).");
        Report.Line();
        var leftovers = RawPostgres.Databases(o.Postgres, "clbench_");
        if (leftovers.Count > 0)
        {
            Report.Note($"{leftovers.Count} clbench_ databases from earlier runs are still there ({string.Join(", ", leftovers)}); left alone");
        }
        var csv = Path.Combine(o.Work, $"responses-{o.ImportRows}.csv");
        if (!File.Exists(csv))
        {
            Shape.WriteCsv(csv, "csv-", o.ImportRows);
        }
        // The server has its warm-up; the raw loop gets one too (JIT of Npgsql's paths, the first connection), once.
        var warmDb = $"clbench_{Figures.Run()}_warm";
        try
        {
            RawPostgres.CreateDatabase(o.Postgres, warmDb);
            RawPostgres.InsertLoop(RawPostgres.For(o.Postgres, warmDb), "warm-", 10_000, allIndexes: true);
        }
        finally
        {
            RawPostgres.DropDatabase(o.Postgres, warmDb);
        }
        var bodies = Enumerable.Range(0, o.BatchRows / 1000).Select(b => (long)b * 1000).ToArray();
        Report.Line("| rep | raw Npgsql inserts rows/s | raw, 4 indexes rows/s | batch API rows/s | batch / raw | CSV import rows/s | import / raw |");
        Report.Line("|---|---|---|---|---|---|---|");
        var results = new List<(double Raw, double Raw4, double Batch, double Import)>();
        var problems = new List<string>();
        var peakRss = new List<double>();
        for (var rep = 1; rep <= o.Reps; rep++)
        {
            var stamp = Figures.Run();
            var names = new[] { "raw", "raw4", "batch", "import" }.ToDictionary(k => k, k => $"clbench_{stamp}_r{rep}_{k}");
            void Check(string what, long actual, long expected)
            {
                if (actual != expected)
                {
                    var problem = $"rep {rep}, {what}: {actual:N0} rows, expected {expected:N0}";
                    problems.Add(problem);
                    Report.Note(problem);
                }
            }
            try
            {
                RawPostgres.CreateDatabase(o.Postgres, names["raw"]);
                var raw = RawPostgres.InsertLoop(RawPostgres.For(o.Postgres, names["raw"]), "raw-", o.BatchRows, allIndexes: false);
                Check("raw inserts", RawPostgres.Count(RawPostgres.For(o.Postgres, names["raw"]), "responses"), o.BatchRows);
                RawPostgres.CreateDatabase(o.Postgres, names["raw4"]);
                var raw4 = RawPostgres.InsertLoop(RawPostgres.For(o.Postgres, names["raw4"]), "raw-", o.BatchRows, allIndexes: true);
                Check("raw inserts, 4 indexes", RawPostgres.Count(RawPostgres.For(o.Postgres, names["raw4"]), "responses"), o.BatchRows);

                var batchArgs = await MigratedAsync(o, names["batch"]);
                double batch;
                long warmCreated = 0;
                await using (var app = await ServerProcess.StartAsync(o.Closeloop, Port, batchArgs, Figures.Env, Path.Combine(o.Work, "closeloop-postgres-batch.log")))
                {
                    // Warm-up on other ids, so the timed batches are all new records.
                    var warm = Stopwatch.StartNew();
                    for (long first = 0; warm.Elapsed < TimeSpan.FromSeconds(o.Warmup); first += 4000)
                    {
                        warmCreated += await Figures.PostAsync(app.BaseUrl, "/api/v1/responses/batch",
                            new[] { first, first + 1000, first + 2000, first + 3000 }.Select(f => Shape.Batch("warm-", f, 1000, 10_000_000)).ToArray(), o.Clients);
                    }
                    var prefix = $"b{rep}-";
                    var prebuilt = bodies.Select(first => Shape.Batch(prefix, first, 1000, o.BatchRows)).ToArray();
                    var watch = Stopwatch.StartNew();
                    var created = await Figures.PostAsync(app.BaseUrl, "/api/v1/responses/batch", prebuilt, o.Clients);
                    batch = created / watch.Elapsed.TotalSeconds;
                    Check("batch API, records created", created, o.BatchRows);
                    peakRss.Add(app.PeakRssMiB());
                }
                var batchDb = RawPostgres.For(o.Postgres, names["batch"]);
                Check("batch API, timed records stored", RawPostgres.Count(batchDb, "responses", $"b{rep}-%"), o.BatchRows);
                Check("batch API, all records stored (warm-up included)", RawPostgres.Count(batchDb, "responses"), warmCreated + o.BatchRows);

                var importArgs = await MigratedAsync(o, names["import"]);
                var importWatch = Stopwatch.StartNew();
                var output = await Shell.RunAsync("dotnet", [o.Closeloop, "import", "responses", csv, .. importArgs], Figures.Env, Path.GetDirectoryName(o.Closeloop));
                var import = o.ImportRows / importWatch.Elapsed.TotalSeconds;
                Report.Note("import: " + output.Trim().Split('\n')[^1]);
                Check("CSV import", RawPostgres.Count(RawPostgres.For(o.Postgres, names["import"]), "responses"), o.ImportRows);

                results.Add((raw, raw4, batch, import));
                Report.Line($"| {rep} | {Stats.F(raw)} | {Stats.F(raw4)} | {Stats.F(batch)} | {batch / raw:0.00} | {Stats.F(import)} | {import / raw:0.00} |");
            }
            finally
            {
                foreach (var name in names.Values)
                {
                    RawPostgres.DropDatabase(o.Postgres, name);
                }
            }
        }
        var batchRatio = Stats.Median(results.Select(r => r.Batch / r.Raw));
        var importRatio = Stats.Median(results.Select(r => r.Import / r.Raw));
        Report.Line($"| **median** | {Stats.F(Stats.Median(results.Select(r => r.Raw)))} | {Stats.F(Stats.Median(results.Select(r => r.Raw4)))} | {Stats.F(Stats.Median(results.Select(r => r.Batch)))} | **{batchRatio:0.00}** | {Stats.F(Stats.Median(results.Select(r => r.Import)))} | **{importRatio:0.00}** |");
        Report.Line();
        Report.Line($"Against the SQLite figure's target of ≥ 0.50 of raw: batch **{(batchRatio >= 0.5 ? "met" : "not met")}** ({batchRatio:0.00}), CSV import **{(importRatio >= 0.5 ? "met" : "not met")}** ({importRatio:0.00}). " +
            $"Closeloop peak RSS (VmHWM) {Stats.F(Stats.Median(peakRss))} MiB. Rows counted in each database before it was dropped: " +
            (problems.Count == 0 ? "all as expected." : "**" + string.Join("; ", problems) + "**."));
        Report.Line();
    }

    /// <summary>Creates the database and migrates it with `closeloop migrate`; returns the product's arguments for it.</summary>
    private static async Task<string[]> MigratedAsync(Options o, string database)
    {
        RawPostgres.CreateDatabase(o.Postgres, database);
        string[] args = ["--Database:Provider=postgres", "--ConnectionStrings:Closeloop=" + RawPostgres.ForProduct(o.Postgres, database)];
        await Shell.RunAsync("dotnet", [o.Closeloop, "migrate", .. args], Figures.Env, Path.GetDirectoryName(o.Closeloop));
        return args;
    }
}

/// <summary>The raw Npgsql baseline and the scratch databases' housekeeping.</summary>
public static class RawPostgres
{
    /// <summary>The columns of the product's responses table (Migrations/postgres/0001_foundation.sql) and its unique index on external_id.</summary>
    public const string ResponsesTable = """
        CREATE TABLE responses (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, content_hash BYTEA NOT NULL, customer_id BIGINT NOT NULL,
            metric TEXT NOT NULL, score INTEGER NOT NULL, comment TEXT, responded_at BIGINT NOT NULL, contact_id BIGINT,
            site_id BIGINT NOT NULL, team_id BIGINT NOT NULL, agent_id BIGINT NOT NULL, channel TEXT NOT NULL, sentiment DOUBLE PRECISION,
            signals TEXT, root_cause TEXT, root_cause_confidence DOUBLE PRECISION, received_at BIGINT NOT NULL);
        """;

    private const string InsertSql =
        "INSERT INTO responses (external_id, content_hash, customer_id, metric, score, comment, responded_at, contact_id, site_id, team_id, agent_id, " +
        "channel, sentiment, signals, root_cause, root_cause_confidence, received_at) " +
        "VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, NULL, NULL, NULL, NULL, $12)";

    /// <summary>The base connection string pointed at <paramref name="database"/>, as the product is given it.</summary>
    public static string ForProduct(string baseConnection, string database) =>
        new NpgsqlConnectionStringBuilder(baseConnection) { Database = database }.ConnectionString;

    /// <summary>The same for the harness's own connections, which are not pooled, so a drop never meets one of them.</summary>
    public static string For(string baseConnection, string database) =>
        new NpgsqlConnectionStringBuilder(baseConnection) { Database = database, Pooling = false }.ConnectionString;

    private static NpgsqlConnection OpenMaintenance(string baseConnection)
    {
        var connection = new NpgsqlConnection(For(baseConnection, "postgres"));
        connection.Open();
        return connection;
    }

    private static string Quote(string name) => name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_')
        ? "\"" + name + "\""
        : throw new ArgumentException("unexpected database name " + name);

    public static void CreateDatabase(string baseConnection, string name)
    {
        using var connection = OpenMaintenance(baseConnection);
        Exec(connection, $"CREATE DATABASE {Quote(name)}");
    }

    public static void DropDatabase(string baseConnection, string name)
    {
        using var connection = OpenMaintenance(baseConnection);
        Exec(connection, $"DROP DATABASE IF EXISTS {Quote(name)} WITH (FORCE)");
    }

    public static List<string> Databases(string baseConnection, string prefix)
    {
        using var connection = OpenMaintenance(baseConnection);
        using var command = new NpgsqlCommand("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = prefix });
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    public static Dictionary<string, string> Settings(string baseConnection, string[] names)
    {
        using var connection = OpenMaintenance(baseConnection);
        return names.ToDictionary(n => n, n =>
        {
            using var command = new NpgsqlCommand("SELECT current_setting($1)", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = n });
            return (string)command.ExecuteScalar()!;
        });
    }

    public static void Exec(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    /// <summary>Rows of <paramref name="table"/>, or only those whose external_id is LIKE <paramref name="externalIdLike"/>.</summary>
    public static long Count(string connectionString, string table, string? externalIdLike = null)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand($"SELECT COUNT(*) FROM {table}" + (externalIdLike is null ? "" : " WHERE external_id LIKE $1"), connection);
        if (externalIdLike is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = externalIdLike });
        }
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// The ingest baseline on PostgreSQL: the rows of <see cref="RawSqlite.InsertLoop"/>, one prepared INSERT per
    /// ExecuteNonQuery, 10,000 rows per transaction, into a table with the columns of <c>responses</c> and its unique
    /// index on external_id (and with <paramref name="allIndexes"/> its three other indexes). Returns rows/s.
    /// </summary>
    public static double InsertLoop(string connectionString, string prefix, int total, bool allIndexes)
    {
        var rows = Enumerable.Range(0, total).Select(i => Shape.Make(prefix, i, total)).ToArray();
        var hashes = rows.Select(r => SHA256.HashData(Encoding.UTF8.GetBytes(r.ExternalId))).ToArray();
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        // RawSqlite.OtherIndexes is plain SQL that PostgreSQL takes as it is.
        Exec(connection, ResponsesTable + (allIndexes ? RawSqlite.OtherIndexes : ""));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var watch = Stopwatch.StartNew();
        using var command = new NpgsqlCommand(InsertSql, connection);
        var p = new[]
        {
            NpgsqlDbType.Text, NpgsqlDbType.Bytea, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.Integer, NpgsqlDbType.Text,
            NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.Bigint, NpgsqlDbType.Text, NpgsqlDbType.Bigint,
        }.Select(t => command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = t })).ToArray();
        command.Prepare();
        for (var start = 0; start < total; start += 10_000)
        {
            using var transaction = connection.BeginTransaction();
            command.Transaction = transaction;
            for (var i = start; i < Math.Min(total, start + 10_000); i++)
            {
                var r = rows[i];
                p[0].Value = r.ExternalId;
                p[1].Value = hashes[i];
                p[2].Value = (long)r.Customer + 1;
                p[3].Value = r.Metric;
                p[4].Value = r.Score;
                p[5].Value = (object?)r.Comment ?? DBNull.Value;
                p[6].Value = r.RespondedAtMs;
                p[7].Value = (long)r.Site + 1;
                p[8].Value = (long)r.Team + 1;
                p[9].Value = (long)r.Agent + 1;
                p[10].Value = Shape.Channels[r.Channel];
                p[11].Value = now;
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        return total / watch.Elapsed.TotalSeconds;
    }
}
