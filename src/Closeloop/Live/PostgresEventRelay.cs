using System.Text.Json;
using Closeloop.Data;
using Npgsql;

namespace Closeloop.Live;

/// <summary>
/// On PostgreSQL, listens on the alert channel and hands every notification to this process's hub, so that
/// several stateless processes behind a load balancer all push every event to their own clients.
/// </summary>
public sealed class PostgresEventRelay(Db db, AlertEventHub hub, Broadcasts.BroadcastHub broadcasts, ILogger<PostgresEventRelay> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (db.IsSqlite)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(db.Options.ConnectionString) { KeepAlive = 30 }.ConnectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    try
                    {
                        if (e.Channel == Broadcasts.BroadcastPublisher.Channel)
                        {
                            if (JsonSerializer.Deserialize<Broadcasts.BroadcastEvent>(e.Payload, JsonSerializerOptions.Web) is { } broadcastEvent)
                            {
                                broadcasts.Publish(broadcastEvent);
                            }
                        }
                        else if (JsonSerializer.Deserialize<AlertEvent>(e.Payload, JsonSerializerOptions.Web) is { } alertEvent)
                        {
                            hub.Publish(alertEvent);
                        }
                    }
                    catch (JsonException ex)
                    {
                        logger.LogWarning(ex, "Ignoring a malformed alert notification");
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {AlertEventPublisher.Channel}; LISTEN {Broadcasts.BroadcastPublisher.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                Ready.TrySetResult();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException)
            {
                logger.LogWarning(ex, "Lost the PostgreSQL notification connection; reconnecting");
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    /// <summary>Completes once LISTEN is in place (tests wait on it before they expect events).</summary>
    public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
