using System.Data.Common;
using System.Text.Json;
using Closeloop.Data;

namespace Closeloop.Notifications;

/// <summary>
/// Writes notifications into the outbox inside the caller's transaction: an e-mail to a person, or one webhook
/// delivery per subscription that wants the event. The sender worker delivers them after the commit.
/// </summary>
public sealed class Outbox(OutboxSignal signal)
{
    public static bool IsEmail(string? address) => address is not null && address.Contains('@', StringComparison.Ordinal) && !address.StartsWith("pool:", StringComparison.Ordinal);

    public async Task EmailAsync(DbConnection connection, DbTransaction? transaction, string eventName, string to, string subject, string body, long? alertId,
        DateTimeOffset now, CancellationToken ct, DateTimeOffset? notBefore = null)
    {
        if (!IsEmail(to))
        {
            return;
        }
        await InsertAsync(connection, transaction, OutboxKinds.Email, eventName, to, subject, body, alertId, now, notBefore ?? now, ct);
    }

    /// <summary>One delivery per enabled subscription that wants this event (and may see the site); returns how many.</summary>
    public async Task<int> WebhooksAsync(DbConnection connection, DbTransaction? transaction, string eventName, object data, long siteId, long? alertId, DateTimeOffset now,
        CancellationToken ct, DateTimeOffset? notBefore = null)
    {
        var subscriptions = new List<(long Id, string Events, long? Site)>();
        await using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT id, events, site_id FROM webhook_subscriptions WHERE enabled = @t";
            Migrator.AddParameter(command, "@t", true);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                subscriptions.Add((reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2)));
            }
        }
        var queued = 0;
        foreach (var (id, events, site) in subscriptions)
        {
            if ((site is not null && site != siteId) || !new WebhookSubscription { Url = "", Secret = "", Events = events }.Wants(eventName))
            {
                continue;
            }
            var body = JsonSerializer.Serialize(new { @event = eventName, occurredAt = now, data }, JsonSerializerOptions.Web);
            await InsertAsync(connection, transaction, OutboxKinds.Webhook, eventName, WebhookSubscriptions.Recipient(id), null, body, alertId, now, notBefore ?? now, ct);
            queued++;
        }
        return queued;
    }

    private async Task InsertAsync(DbConnection connection, DbTransaction? transaction, string kind, string eventName, string recipient, string? subject, string body,
        long? alertId, DateTimeOffset now, DateTimeOffset notBefore, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO outbox (kind, event, recipient, subject, body, alert_id, created_at, next_attempt_at, attempts) " +
            "VALUES (@k, @e, @r, @s, @b, @a, @now, @due, 0)";
        Migrator.AddParameter(command, "@k", kind);
        Migrator.AddParameter(command, "@e", eventName);
        Migrator.AddParameter(command, "@r", recipient);
        Migrator.AddParameter(command, "@s", subject);
        Migrator.AddParameter(command, "@b", body);
        Migrator.AddParameter(command, "@a", alertId);
        Migrator.AddParameter(command, "@now", now.ToUnixTimeMilliseconds());
        Migrator.AddParameter(command, "@due", notBefore.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(ct);
        signal.Pending();
    }
}

/// <summary>Wakes the sender when something was queued, instead of having it poll.</summary>
public sealed class OutboxSignal
{
    private volatile TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Marks work as queued; the sender looks once the writing transaction has committed (it retries a miss shortly).</summary>
    public void Pending() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken ct) => _next.Task.WaitAsync(timeout, time, ct);
}
