using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

// A minimal Kestrel app: POST /api/v1/responses reads the whole JSON body with System.Text.Json and answers 200.
// It is the ceiling the product's single-ingest endpoint is compared with (same tool, connections, duration).
//
// With --durable FILE (a new database; the file is replaced) it also stores each record before answering, the least a
// durable endpoint can do: the fields read from the body, queued to one writer, which inserts whatever is waiting into
// a table shaped like the product's `responses` (its unique external id and four other indexes, the agent's standing
// in for the root cause's) in one transaction, WAL with synchronous=FULL and the product writer's page cache, and
// then answers them all. No authentication, validation, text analysis, customers, rollups or alerts: the product's
// figure beside this one says what those cost, and this one beside the plain endpoint what a durable write costs here.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var durable = app.Configuration["durable"];
// --synchronous NORMAL|OFF and --indexes false take parts away, to see what each costs (the figure uses neither).
var writer = durable is null ? null
    : new DurableWriter(durable, app.Configuration["synchronous"] ?? "FULL", !string.Equals(app.Configuration["indexes"], "false", StringComparison.OrdinalIgnoreCase));

app.MapGet("/health", () => Results.Ok());
app.MapPost("/api/v1/responses", async (HttpRequest request, CancellationToken ct) =>
{
    using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
    var root = document.RootElement;
    if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("externalId", out var id) || id.ValueKind != JsonValueKind.String)
    {
        return Results.BadRequest();
    }
    if (writer is null)
    {
        return Results.Ok();
    }
    string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    var record = new RawRecord(
        id.GetString()!,
        root.TryGetProperty("customer", out var c) && c.ValueKind == JsonValueKind.Object ? Text(c, "externalId") ?? "" : "",
        Text(root, "metric") ?? "",
        root.TryGetProperty("score", out var s) && s.TryGetInt32(out var score) ? score : 0,
        Text(root, "comment"),
        DateTimeOffset.TryParse(Text(root, "respondedAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at.ToUnixTimeMilliseconds() : 0,
        Text(root, "site") ?? "", Text(root, "team") ?? "", Text(root, "agent") ?? "", Text(root, "channel") ?? "");
    return await writer.WriteAsync(record) ? Results.Created() : Results.Ok();
});

await app.RunAsync();

internal sealed record RawRecord(string ExternalId, string Customer, string Metric, int Score, string? Comment, long RespondedAt, string Site, string Team, string Agent, string Channel);

/// <summary>One writer and group commit: every record waiting when a transaction begins goes into it.</summary>
internal sealed class DurableWriter
{
    private readonly Channel<(RawRecord Record, TaskCompletionSource<bool> Done)> _queue =
        Channel.CreateUnbounded<(RawRecord, TaskCompletionSource<bool>)>(new UnboundedChannelOptions { SingleReader = true });

    public DurableWriter(string path, string synchronous, bool indexes)
    {
        foreach (var f in new[] { path, path + "-wal", path + "-shm" })
        {
            File.Delete(f);
        }
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = $"""
                PRAGMA journal_mode=WAL; PRAGMA synchronous={(synchronous is "NORMAL" or "OFF" ? synchronous : "FULL")}; PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;
                CREATE TABLE responses (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, customer TEXT NOT NULL, metric TEXT NOT NULL,
                    score INTEGER NOT NULL, comment TEXT, responded_at INTEGER NOT NULL, site TEXT NOT NULL, team TEXT NOT NULL, agent TEXT NOT NULL,
                    channel TEXT NOT NULL, received_at INTEGER NOT NULL);
                """;
            setup.ExecuteNonQuery();
            setup.CommandText = indexes ? """
                CREATE INDEX ix_customer_time ON responses (customer, responded_at, id);
                CREATE INDEX ix_site_time ON responses (site, responded_at);
                CREATE INDEX ix_time ON responses (responded_at);
                CREATE INDEX ix_agent_time ON responses (agent, responded_at);
                """ : "SELECT 1";
            setup.ExecuteNonQuery();
        }
        _ = Task.Run(() => RunAsync(connection));
    }

    /// <summary>True once the record is committed, false when its external id was there already.</summary>
    public Task<bool> WriteAsync(RawRecord record)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Writer.TryWrite((record, done));
        return done.Task;
    }

    private async Task RunAsync(SqliteConnection connection)
    {
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO responses (external_id, customer, metric, score, comment, responded_at, site, team, agent, channel, received_at)
            VALUES (@x, @c, @m, @s, @t, @at, @site, @team, @agent, @ch, @now) ON CONFLICT (external_id) DO NOTHING
            """;
        var names = new[] { "@x", "@c", "@m", "@s", "@t", "@at", "@site", "@team", "@agent", "@ch", "@now" };
        var p = names.Select(n => insert.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();
        var group = new List<(TaskCompletionSource<bool> Done, bool Created)>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            group.Clear();
            TaskCompletionSource<bool>? current = null;
            try
            {
                using var transaction = connection.BeginTransaction();
                insert.Transaction = transaction;
                while (_queue.Reader.TryRead(out var item))
                {
                    (var r, current) = item;
                    (p[0].Value, p[1].Value, p[2].Value, p[3].Value, p[4].Value, p[5].Value) = (r.ExternalId, r.Customer, r.Metric, r.Score, (object?)r.Comment ?? DBNull.Value, r.RespondedAt);
                    (p[6].Value, p[7].Value, p[8].Value, p[9].Value, p[10].Value) = (r.Site, r.Team, r.Agent, r.Channel, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                    group.Add((current, insert.ExecuteNonQuery() == 1));
                }
                transaction.Commit();
            }
            catch (SqliteException ex)
            {
                // Nothing of the group was committed: every request in it fails (a 500), none is answered as stored.
                group.ForEach(g => g.Done.TrySetException(ex));
                current?.TrySetException(ex); // the record whose insert failed, not in the group yet
                continue;
            }
            foreach (var (done, created) in group)
            {
                done.SetResult(created);
            }
        }
    }
}
