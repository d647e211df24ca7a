using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Closeloop.Bench;

/// <summary>
/// The shape of the benchmark data: one year (2026), 3 sites, 10 teams, 100 agents, 8 channels, 200,000 customers,
/// responses in time order (as they arrive), csat/nps/ces in 5:3:2, a comment on about a third of them.
/// Record i is the same whichever path writes it (JSON batch, CSV, raw seeder).
/// </summary>
public static class Shape
{
    public static readonly string[] Sites = ["north", "south", "east"];
    public static readonly string[] Channels = ["phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person"];
    public const int Teams = 10;
    public const int Agents = 100;
    public const int Customers = 200_000;
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const long YearMs = 365L * 86_400_000;

    private static readonly string[] Comments =
    [
        "Waited 40 minutes and nobody could help",
        "Quick and friendly, sorted my card payment",
        "Had to explain everything three times",
        "The agent was great but the app still fails",
        "Refund promised last week never arrived",
        "Thanks, very helpful",
        "Transferred twice and then cut off",
        "Easy to reach, problem solved first time",
    ];

    public static int CommentCount => Comments.Length;

    public static string TeamCode(int team) => $"{Sites[team % 3]}-team-{team}";

    public static int TeamOfAgent(int agent) => agent % Teams;

    public static int SiteOfTeam(int team) => team % 3;

    public readonly record struct Row(
        string ExternalId, int Customer, string Metric, int Score, string? Comment, long RespondedAtMs, int Site, int Team, int Agent, int Channel)
    {
        public string CustomerId => "cust-" + Customer.ToString(CultureInfo.InvariantCulture);

        public string Email => "c" + Customer.ToString(CultureInfo.InvariantCulture) + "@example.com";

        public string AgentCode => "agent-" + Agent.ToString(CultureInfo.InvariantCulture);

        public string RespondedAt => DateTimeOffset.FromUnixTimeMilliseconds(RespondedAtMs).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>Record <paramref name="i"/> of <paramref name="total"/>; ids carry <paramref name="prefix"/> so separate runs never collide.</summary>
    public static Row Make(string prefix, long i, long total)
    {
        // A cheap deterministic hash of i stands in for randomness, so every path produces the same rows.
        var h = (ulong)i * 0x9E3779B97F4A7C15UL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 32;
        var agent = (int)(h % Agents);
        var team = TeamOfAgent(agent);
        var site = SiteOfTeam(team);
        var channel = (int)((h >> 8) % 16) switch { < 6 => 0, < 8 => 1, < 10 => 2, < 13 => 3, 13 => 4, 14 => 5, _ => (int)((h >> 20) % 2) + 6 };
        var kind = (int)((h >> 12) % 10);
        var r = (int)((h >> 16) % 100);
        var (metric, score) = kind switch
        {
            < 5 => ("csat", r < 55 ? 5 : r < 75 ? 4 : r < 85 ? 3 : r < 93 ? 2 : 1),
            < 8 => ("nps", r < 35 ? 10 : r < 50 ? 9 : r < 70 ? 8 : r < 80 ? 7 : r % 7),
            _ => ("ces", r < 30 ? 7 : r < 55 ? 6 : r < 70 ? 5 : r < 85 ? 4 : (r % 3) + 1),
        };
        var comment = (h >> 24) % 3 == 0 ? Comments[(int)((h >> 28) % (ulong)Comments.Length)] : null;
        var at = Start.ToUnixTimeMilliseconds() + (long)((YearMs - 60_000) * ((double)i / total)) + (long)((h >> 36) % 60_000);
        return new Row(prefix + i.ToString(CultureInfo.InvariantCulture), (int)((h >> 40) % Customers), metric, score, comment, at, site, team, agent, channel);
    }

    public static void WriteJson(Utf8JsonWriter w, Row row)
    {
        w.WriteStartObject();
        w.WriteString("externalId", row.ExternalId);
        w.WriteStartObject("customer");
        w.WriteString("externalId", row.CustomerId);
        w.WriteString("email", row.Email);
        w.WriteEndObject();
        w.WriteString("metric", row.Metric);
        w.WriteNumber("score", row.Score);
        if (row.Comment is not null)
        {
            w.WriteString("comment", row.Comment);
        }
        w.WriteString("respondedAt", row.RespondedAt);
        w.WriteString("site", Sites[row.Site]);
        w.WriteString("team", TeamCode(row.Team));
        w.WriteString("agent", row.AgentCode);
        w.WriteString("channel", Channels[row.Channel]);
        w.WriteEndObject();
    }

    /// <summary>A JSON array body of records [first, first+count) of total.</summary>
    public static byte[] Batch(string prefix, long first, int count, long total)
    {
        using var stream = new MemoryStream(count * 330);
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            for (var i = first; i < first + count; i++)
            {
                WriteJson(w, Make(prefix, i, total));
            }
            w.WriteEndArray();
        }
        return stream.ToArray();
    }

    public static void WriteCsv(string path, string prefix, long total)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        writer.WriteLine("externalId,customerExternalId,customerEmail,metric,score,comment,respondedAt,site,team,agent,channel");
        for (long i = 0; i < total; i++)
        {
            var r = Make(prefix, i, total);
            writer.Write(r.ExternalId);
            writer.Write(',');
            writer.Write(r.CustomerId);
            writer.Write(',');
            writer.Write(r.Email);
            writer.Write(',');
            writer.Write(r.Metric);
            writer.Write(',');
            writer.Write(r.Score.ToString(CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(r.Comment is null ? "" : "\"" + r.Comment.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"");
            writer.Write(',');
            writer.Write(r.RespondedAt);
            writer.Write(',');
            writer.Write(Sites[r.Site]);
            writer.Write(',');
            writer.Write(TeamCode(r.Team));
            writer.Write(',');
            writer.Write(r.AgentCode);
            writer.Write(',');
            writer.WriteLine(Channels[r.Channel]);
        }
    }

    public static bool IsTop(string metric, int score) => metric switch { "csat" => score >= 4, "nps" => score >= 9, _ => score >= 5 };

    public static bool IsBottom(string metric, int score) => metric switch { "csat" => score <= 2, "nps" => score <= 6, _ => score <= 3 };
}

/// <summary>What the product's text analysis stored for one comment.</summary>
public sealed record CommentFindings(double? Sentiment, string? Signals, string? RootCause, double? RootCauseConfidence);

/// <summary>The raw Microsoft.Data.Sqlite baselines and the direct seeder.</summary>
public static class RawSqlite
{
    public const string ResponsesTable = """
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, content_hash BLOB NOT NULL, customer_id INTEGER NOT NULL,
            metric TEXT NOT NULL, score INTEGER NOT NULL, comment TEXT, responded_at INTEGER NOT NULL, contact_id INTEGER,
            site_id INTEGER NOT NULL, team_id INTEGER NOT NULL, agent_id INTEGER NOT NULL, channel TEXT NOT NULL, sentiment REAL,
            signals TEXT, root_cause TEXT, root_cause_confidence REAL, received_at INTEGER NOT NULL);
        """;

    public const string OtherIndexes = """
        CREATE INDEX ix_responses_customer_time ON responses (customer_id, responded_at, id);
        CREATE INDEX ix_responses_site_time ON responses (site_id, responded_at);
        CREATE INDEX ix_responses_time ON responses (responded_at);
        """;

    private const string InsertSql =
        "INSERT INTO responses (external_id, content_hash, customer_id, metric, score, comment, responded_at, contact_id, site_id, team_id, agent_id, " +
        "channel, sentiment, signals, root_cause, root_cause_confidence, received_at) " +
        "VALUES (@x, @h, @c, @m, @sc, @co, @at, NULL, @s, @t, @a, @ch, NULL, NULL, NULL, NULL, @now)";

    private const string SeedInsertSql =
        "INSERT INTO responses (external_id, content_hash, customer_id, metric, score, comment, responded_at, contact_id, site_id, team_id, agent_id, " +
        "channel, sentiment, signals, root_cause, root_cause_confidence, received_at) " +
        "VALUES (@x, @h, @c, @m, @sc, @co, @at, NULL, @s, @t, @a, @ch, @sent, @sig, @rc, @rcc, @now)";

    /// <summary>The text findings the product stored, one per distinct comment.</summary>
    public static Dictionary<string, CommentFindings> Findings(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT comment, MIN(sentiment), MIN(signals), MIN(root_cause), MIN(root_cause_confidence), COUNT(DISTINCT COALESCE(root_cause, '')) " +
            "FROM responses WHERE comment IS NOT NULL GROUP BY comment";
        var findings = new Dictionary<string, CommentFindings>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetInt64(5) != 1)
            {
                throw new InvalidOperationException($"the product gave one comment several causes: {reader.GetString(0)}");
            }
            findings[reader.GetString(0)] = new CommentFindings(
                reader.IsDBNull(1) ? null : reader.GetDouble(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetDouble(4));
        }
        return findings;
    }

    public static SqliteConnection Open(string path, string synchronous)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        Exec(connection, $"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};");
        return connection;
    }

    public static void Exec(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// The ingest baseline: prepared inserts of the same rows, WAL, synchronous=FULL, 10,000 rows per transaction,
    /// into a table with the columns of <c>responses</c> and its unique index on external_id. Returns rows/s.
    /// </summary>
    public static double InsertLoop(string path, string prefix, int total, bool allIndexes, bool byPosition = false)
    {
        foreach (var f in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(f);
        }
        var rows = Enumerable.Range(0, total).Select(i => Shape.Make(prefix, i, total)).ToArray();
        var hashes = rows.Select(r => SHA256.HashData(Encoding.UTF8.GetBytes(r.ExternalId))).ToArray();
        using var connection = Open(path, "FULL");
        Exec(connection, ResponsesTable + (allIndexes ? OtherIndexes : ""));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (byPosition)
        {
            InsertByPosition(connection, rows, hashes, now);
            return total / watch.Elapsed.TotalSeconds;
        }
        using var command = connection.CreateCommand();
        command.CommandText = InsertSql;
        var p = new[] { "@x", "@h", "@c", "@m", "@sc", "@co", "@at", "@s", "@t", "@a", "@ch", "@now" }
            .Select(n => command.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        for (var start = 0; start < total; start += 10_000)
        {
            using var transaction = connection.BeginTransaction();
            command.Transaction = transaction;
            command.Prepare();
            for (var i = start; i < Math.Min(total, start + 10_000); i++)
            {
                var r = rows[i];
                p[0].Value = r.ExternalId;
                p[1].Value = hashes[i];
                p[2].Value = r.Customer + 1;
                p[3].Value = r.Metric;
                p[4].Value = r.Score;
                p[5].Value = (object?)r.Comment ?? DBNull.Value;
                p[6].Value = r.RespondedAtMs;
                p[7].Value = r.Site + 1;
                p[8].Value = r.Team + 1;
                p[9].Value = r.Agent + 1;
                p[10].Value = Shape.Channels[r.Channel];
                p[11].Value = now;
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        return total / watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The same loop binding by position straight through SQLitePCL, as the product's writer does since F10: it shows
    /// what Microsoft.Data.Sqlite's per-execution work (parameter lookup by name, a data reader) costs the baseline.
    /// </summary>
    private static void InsertByPosition(SqliteConnection connection, Shape.Row[] rows, byte[][] hashes, long now)
    {
        var db = connection.Handle!;
        Check(db, raw.sqlite3_prepare_v2(db, InsertSql, out var stmt));
        using (stmt)
        {
            for (var start = 0; start < rows.Length; start += 10_000)
            {
                using var transaction = connection.BeginTransaction();
                for (var i = start; i < Math.Min(rows.Length, start + 10_000); i++)
                {
                    var r = rows[i];
                    raw.sqlite3_bind_text(stmt, 1, r.ExternalId);
                    raw.sqlite3_bind_blob(stmt, 2, hashes[i]);
                    raw.sqlite3_bind_int64(stmt, 3, r.Customer + 1);
                    raw.sqlite3_bind_text(stmt, 4, r.Metric);
                    raw.sqlite3_bind_int64(stmt, 5, r.Score);
                    if (r.Comment is null)
                    {
                        raw.sqlite3_bind_null(stmt, 6);
                    }
                    else
                    {
                        raw.sqlite3_bind_text(stmt, 6, r.Comment);
                    }
                    raw.sqlite3_bind_int64(stmt, 7, r.RespondedAtMs);
                    raw.sqlite3_bind_int64(stmt, 8, r.Site + 1);
                    raw.sqlite3_bind_int64(stmt, 9, r.Team + 1);
                    raw.sqlite3_bind_int64(stmt, 10, r.Agent + 1);
                    raw.sqlite3_bind_text(stmt, 11, Shape.Channels[r.Channel]);
                    raw.sqlite3_bind_int64(stmt, 12, now);
                    var rc = raw.sqlite3_step(stmt);
                    raw.sqlite3_reset(stmt);
                    Check(db, rc == raw.SQLITE_DONE ? raw.SQLITE_OK : rc);
                }
                transaction.Commit();
            }
        }
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw new InvalidOperationException($"SQLite error {rc}: {raw.sqlite3_errmsg(db).utf8_to_string()}");
        }
    }

    /// <summary>The scan the rollups avoid: every response grouped by site and metric. Returns milliseconds.</summary>
    public static (double Ms, long Rows) GroupByScan(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT site_id, metric, COUNT(*), " +
            "SUM(CASE WHEN (metric = 'csat' AND score >= 4) OR (metric = 'nps' AND score >= 9) OR (metric = 'ces' AND score >= 5) THEN 1 ELSE 0 END), " +
            "SUM(CASE WHEN (metric = 'csat' AND score <= 2) OR (metric = 'nps' AND score <= 6) OR (metric = 'ces' AND score <= 3) THEN 1 ELSE 0 END), " +
            "SUM(score) FROM responses GROUP BY site_id, metric";
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long n = 0;
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                n += reader.GetInt64(2);
            }
        }
        return (watch.Elapsed.TotalMilliseconds, n);
    }

    public static long Count(string path, string table)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Writes <paramref name="total"/> responses straight into a database the app has migrated, with the org tables,
    /// the customers and the rollup rows (<c>response_rollups</c>, <c>agent_response_rollups</c>, <c>cause_rollups</c>, <c>cause_group_rollups</c>) exactly as the ingest writer would keep them, and the text
    /// findings (sentiment, signals, root cause) the product computed for each comment (<paramref name="findings"/>).
    /// </summary>
    public static void Seed(string path, string prefix, long total, IReadOnlyDictionary<string, CommentFindings> findings, Action<string> progress)
    {
        using var connection = Open(path, "OFF");
        Exec(connection, "PRAGMA cache_size=-1048576; PRAGMA temp_store=MEMORY;");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var transaction = connection.BeginTransaction())
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            var sql = new StringBuilder();
            for (var s = 0; s < Shape.Sites.Length; s++)
            {
                sql.Append(CultureInfo.InvariantCulture, $"INSERT INTO sites (id, code, name, created_at) VALUES ({s + 1}, '{Shape.Sites[s]}', '{Shape.Sites[s]}', {now});");
            }
            for (var t = 0; t < Shape.Teams; t++)
            {
                sql.Append(CultureInfo.InvariantCulture, $"INSERT INTO teams (id, code, name, site_id, created_at) VALUES ({t + 1}, '{Shape.TeamCode(t)}', '{Shape.TeamCode(t)}', {Shape.SiteOfTeam(t) + 1}, {now});");
            }
            for (var a = 0; a < Shape.Agents; a++)
            {
                var team = Shape.TeamOfAgent(a);
                sql.Append(CultureInfo.InvariantCulture, $"INSERT INTO agents (id, code, name, team_id, site_id, created_at) VALUES ({a + 1}, 'agent-{a}', 'agent-{a}', {team + 1}, {Shape.SiteOfTeam(team) + 1}, {now});");
            }
            command.CommandText = sql.ToString();
            command.ExecuteNonQuery();
            command.CommandText = "INSERT INTO customers (id, external_id, email, created_at, updated_at) VALUES (@id, @x, @e, @now, @now)";
            var id = command.Parameters.Add(new SqliteParameter("@id", null));
            var x = command.Parameters.Add(new SqliteParameter("@x", null));
            var e = command.Parameters.Add(new SqliteParameter("@e", null));
            command.Parameters.AddWithValue("@now", now);
            for (var c = 0; c < Shape.Customers; c++)
            {
                id.Value = c + 1;
                x.Value = "cust-" + c.ToString(CultureInfo.InvariantCulture);
                e.Value = "c" + c.ToString(CultureInfo.InvariantCulture) + "@example.com";
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }

        var rollups = new Dictionary<(long Day, int Site, int Team, int Agent, int Channel, string Metric), (long N, long Top, long Bottom, long Sum)>();
        var causeRollups = new Dictionary<(long Day, int Site, string Metric, string Cause), (long N, long Top, long Bottom)>();
        var causeGroupRollups = new Dictionary<(string Dim, long Day, int Site, string Key, string Cause), long>();
        using var insert = connection.CreateCommand();
        insert.CommandText = SeedInsertSql;
        var p = new[] { "@x", "@h", "@c", "@m", "@sc", "@co", "@at", "@s", "@t", "@a", "@ch", "@now", "@sent", "@sig", "@rc", "@rcc" }
            .Select(n => insert.Parameters.Add(new SqliteParameter(n, null))).ToArray();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (long start = 0; start < total; start += 100_000)
        {
            using var transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            for (var i = start; i < Math.Min(total, start + 100_000); i++)
            {
                var r = Shape.Make(prefix, i, total);
                p[0].Value = r.ExternalId;
                p[1].Value = SHA256.HashData(Encoding.UTF8.GetBytes(r.ExternalId));
                p[2].Value = r.Customer + 1;
                p[3].Value = r.Metric;
                p[4].Value = r.Score;
                p[5].Value = (object?)r.Comment ?? DBNull.Value;
                p[6].Value = r.RespondedAtMs;
                p[7].Value = r.Site + 1;
                p[8].Value = r.Team + 1;
                p[9].Value = r.Agent + 1;
                p[10].Value = Shape.Channels[r.Channel];
                p[11].Value = now;
                var f = r.Comment is null ? null : findings[r.Comment];
                p[12].Value = (object?)f?.Sentiment ?? DBNull.Value;
                p[13].Value = (object?)f?.Signals ?? DBNull.Value;
                p[14].Value = (object?)f?.RootCause ?? DBNull.Value;
                p[15].Value = (object?)f?.RootCauseConfidence ?? DBNull.Value;
                insert.ExecuteNonQuery();
                var key = ((long)Math.Floor(r.RespondedAtMs / 86_400_000d), r.Site + 1, r.Team + 1, r.Agent + 1, r.Channel, r.Metric);
                rollups.TryGetValue(key, out var v);
                rollups[key] = (v.N + 1, v.Top + (Shape.IsTop(r.Metric, r.Score) ? 1 : 0), v.Bottom + (Shape.IsBottom(r.Metric, r.Score) ? 1 : 0), v.Sum + r.Score);
                var causeKey = (key.Item1, r.Site + 1, r.Metric, f?.RootCause ?? "");
                causeRollups.TryGetValue(causeKey, out var cv);
                causeRollups[causeKey] = (cv.N + 1, cv.Top + (Shape.IsTop(r.Metric, r.Score) ? 1 : 0), cv.Bottom + (Shape.IsBottom(r.Metric, r.Score) ? 1 : 0));
                if (f?.RootCause is { } cause)
                {
                    foreach (var groupKey in new[] { ("team", (r.Team + 1).ToString(CultureInfo.InvariantCulture)), ("agent", (r.Agent + 1).ToString(CultureInfo.InvariantCulture)), ("channel", (string)p[10].Value!) })
                    {
                        var k = (groupKey.Item1, key.Item1, r.Site + 1, groupKey.Item2, cause);
                        causeGroupRollups[k] = causeGroupRollups.GetValueOrDefault(k) + 1;
                    }
                }
            }
            transaction.Commit();
            if ((start / 100_000) % 10 == 9)
            {
                progress($"seeded {start + 100_000:N0} rows, {(start + 100_000) / watch.Elapsed.TotalSeconds:N0}/s");
            }
        }
        using (var transaction = connection.BeginTransaction())
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            // The two rollups the ingest writer keeps: by (day, site, team, channel, metric) and by (day, agent, site, metric).
            command.CommandText = "INSERT INTO response_rollups (day, site_id, team_id, channel, metric, n, top, bottom, score_sum) VALUES (@d, @s, @t, @ch, @m, @n, @top, @bottom, @sum) " +
                "ON CONFLICT (day, site_id, team_id, channel, metric) DO UPDATE SET n = response_rollups.n + excluded.n, top = response_rollups.top + excluded.top, bottom = response_rollups.bottom + excluded.bottom, score_sum = response_rollups.score_sum + excluded.score_sum; " +
                "INSERT INTO agent_response_rollups (day, agent_id, site_id, metric, n, top, bottom, score_sum) VALUES (@d, @a, @s, @m, @n, @top, @bottom, @sum) " +
                "ON CONFLICT (day, agent_id, site_id, metric) DO UPDATE SET n = agent_response_rollups.n + excluded.n, top = agent_response_rollups.top + excluded.top, bottom = agent_response_rollups.bottom + excluded.bottom, score_sum = agent_response_rollups.score_sum + excluded.score_sum";
            var q = new[] { "@d", "@s", "@t", "@a", "@ch", "@m", "@n", "@top", "@bottom", "@sum" }.Select(n => command.Parameters.Add(new SqliteParameter(n, null))).ToArray();
            foreach (var (k, v) in rollups)
            {
                q[0].Value = k.Day;
                q[1].Value = k.Site;
                q[2].Value = k.Team;
                q[3].Value = k.Agent;
                q[4].Value = Shape.Channels[k.Channel];
                q[5].Value = k.Metric;
                q[6].Value = v.N;
                q[7].Value = v.Top;
                q[8].Value = v.Bottom;
                q[9].Value = v.Sum;
                command.ExecuteNonQuery();
            }
            // And the insights reports' rollup by (day, site, metric, cause).
            command.Parameters.Clear();
            command.CommandText = "INSERT INTO cause_rollups (day, site_id, metric, root_cause, n, top, bottom) VALUES (@d, @s, @m, @rc, @n, @top, @bottom)";
            var c = new[] { "@d", "@s", "@m", "@rc", "@n", "@top", "@bottom" }.Select(n => command.Parameters.Add(new SqliteParameter(n, null))).ToArray();
            foreach (var (k, v) in causeRollups)
            {
                (c[0].Value, c[1].Value, c[2].Value, c[3].Value, c[4].Value, c[5].Value, c[6].Value) = (k.Day, k.Site, k.Metric, k.Cause, v.N, v.Top, v.Bottom);
                command.ExecuteNonQuery();
            }
            // And its rollup by team, agent and channel (responses with a cause only).
            command.Parameters.Clear();
            command.CommandText = "INSERT INTO cause_group_rollups (dim, day, site_id, group_key, root_cause, n) VALUES (@dim, @d, @s, @k, @rc, @n)";
            var g = new[] { "@dim", "@d", "@s", "@k", "@rc", "@n" }.Select(n => command.Parameters.Add(new SqliteParameter(n, null))).ToArray();
            foreach (var (k, n) in causeGroupRollups)
            {
                (g[0].Value, g[1].Value, g[2].Value, g[3].Value, g[4].Value, g[5].Value) = (k.Dim, k.Day, k.Site, k.Key, k.Cause, n);
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        Exec(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        progress($"seeded {total:N0} responses and {rollups.Count:N0} rollup rows in {watch.Elapsed.TotalSeconds:N0} s");
    }
}
