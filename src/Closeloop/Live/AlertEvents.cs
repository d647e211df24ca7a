using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Live;

/// <summary>What a live client is told about an alert.</summary>
public sealed record AlertEvent(
    string Type, long AlertId, string Status, string Owner, long SiteId, string? Site, string? Customer, string? Rule,
    DateTimeOffset DueAt, int EscalationLevel, DateTimeOffset At);

/// <summary>
/// In-process fan-out of alert events to connected clients (SSE). With PostgreSQL, events reach this hub through
/// LISTEN/NOTIFY, so every process pushes every event, whichever process caused it.
/// </summary>
public sealed class AlertEventHub
{
    private readonly Lock _gate = new();
    private readonly List<Channel<AlertEvent>> _subscribers = [];

    public ChannelReader<AlertEvent> Subscribe(out Action unsubscribe)
    {
        // A slow client loses its oldest events rather than slowing every publisher down.
        var channel = Channel.CreateBounded<AlertEvent>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
        {
            _subscribers.Add(channel);
        }
        unsubscribe = () =>
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
            channel.Writer.TryComplete();
        };
        return channel.Reader;
    }

    public void Publish(AlertEvent alertEvent)
    {
        Channel<AlertEvent>[] targets;
        lock (_gate)
        {
            targets = [.. _subscribers];
        }
        foreach (var target in targets)
        {
            target.Writer.TryWrite(alertEvent);
        }
    }
}

/// <summary>Publishes alert events: straight to the hub on SQLite (one process), through NOTIFY on PostgreSQL.</summary>
public sealed class AlertEventPublisher(Db db, AlertEventHub hub)
{
    public const string Channel = "closeloop_alerts";

    /// <summary>
    /// Inside a transaction: on PostgreSQL the NOTIFY is delivered only if the transaction commits. On SQLite the
    /// event is returned to be published after the commit.
    /// </summary>
    public async Task<AlertEvent?> InTransactionAsync(DbConnection connection, DbTransaction transaction, AlertEvent alertEvent, CancellationToken cancellationToken)
    {
        if (db.IsSqlite)
        {
            return alertEvent;
        }
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT pg_notify(@channel, @payload)";
        Migrator.AddParameter(command, "@channel", Channel);
        Migrator.AddParameter(command, "@payload", JsonSerializer.Serialize(alertEvent, JsonSerializerOptions.Web));
        await command.ExecuteScalarAsync(cancellationToken);
        return null;
    }

    /// <summary>After a commit made through the DbContext.</summary>
    public async Task AfterCommitAsync(CloseloopDb context, AlertEvent alertEvent, CancellationToken cancellationToken)
    {
        if (db.IsSqlite)
        {
            hub.Publish(alertEvent);
            return;
        }
        var connection = context.Database.GetDbConnection();
        var wasClosed = connection.State != System.Data.ConnectionState.Open;
        if (wasClosed)
        {
            await connection.OpenAsync(cancellationToken);
        }
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT pg_notify(@channel, @payload)";
            Migrator.AddParameter(command, "@channel", Channel);
            Migrator.AddParameter(command, "@payload", JsonSerializer.Serialize(alertEvent, JsonSerializerOptions.Web));
            await command.ExecuteScalarAsync(cancellationToken);
        }
        finally
        {
            if (wasClosed)
            {
                await connection.CloseAsync();
            }
        }
    }

    public void PublishLocal(AlertEvent alertEvent) => hub.Publish(alertEvent);
}
