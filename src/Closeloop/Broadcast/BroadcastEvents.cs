using System.Text.Json;
using System.Threading.Channels;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Broadcasts;

/// <summary>What a console page is told: a broadcast posted or withdrawn, or (for its sender) read by someone.</summary>
public sealed record BroadcastEvent(string Type, long Id, long? SiteId, long? TeamId, string Sender, BroadcastView? Broadcast);

/// <summary>In-process fan-out to the open console pages; on PostgreSQL it is fed through LISTEN/NOTIFY like the alert hub.</summary>
public sealed class BroadcastHub
{
    private readonly Lock _gate = new();
    private readonly List<Channel<BroadcastEvent>> _subscribers = [];

    public ChannelReader<BroadcastEvent> Subscribe(out Action unsubscribe)
    {
        var channel = Channel.CreateBounded<BroadcastEvent>(new BoundedChannelOptions(200) { FullMode = BoundedChannelFullMode.DropOldest });
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

    public void Publish(BroadcastEvent broadcastEvent)
    {
        Channel<BroadcastEvent>[] targets;
        lock (_gate)
        {
            targets = [.. _subscribers];
        }
        foreach (var target in targets)
        {
            target.Writer.TryWrite(broadcastEvent);
        }
    }
}

/// <summary>Straight to the hub on SQLite (one process); through NOTIFY on PostgreSQL, so every process's pages hear it.</summary>
public sealed class BroadcastPublisher(Db db, BroadcastHub hub)
{
    public const string Channel = "closeloop_broadcasts";

    public async Task PublishAsync(CloseloopDb context, BroadcastEvent broadcastEvent, CancellationToken ct)
    {
        if (db.IsSqlite)
        {
            hub.Publish(broadcastEvent);
            return;
        }
        var payload = JsonSerializer.Serialize(broadcastEvent, JsonSerializerOptions.Web);
        await context.Database.ExecuteSqlAsync($"SELECT pg_notify({Channel}, {payload})", ct);
    }
}
