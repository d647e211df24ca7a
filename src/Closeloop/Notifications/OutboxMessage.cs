namespace Closeloop.Notifications;

public static class OutboxKinds
{
    public const string Email = "email";
    public const string Webhook = "webhook";
}

/// <summary>
/// A notification waiting to be delivered. It is written in the same transaction as the change that causes it,
/// so a notification is never lost or sent for a change that rolled back, and retried until delivered.
/// </summary>
public sealed class OutboxMessage
{
    public long Id { get; set; }
    public required string Kind { get; set; }
    public required string Event { get; set; }
    public required string Recipient { get; set; }
    public string? Subject { get; set; }
    public required string Body { get; set; }
    public long? AlertId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public string? LastError { get; set; }
    public string? ClaimedBy { get; set; }
    public DateTimeOffset? ClaimedUntil { get; set; }
}

/// <summary>An outbound webhook: every event it subscribes to is POSTed to its URL, signed with HMAC-SHA256.</summary>
public sealed class WebhookSubscription
{
    public long Id { get; set; }
    public required string Url { get; set; }
    public required string Secret { get; set; }
    public required string Events { get; set; }
    public long? SiteId { get; set; }
    public bool Enabled { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }

    public bool Wants(string eventName) =>
        Events == "*" || Events.Split(',').Any(e => e == eventName || (e.EndsWith(".*", StringComparison.Ordinal) && eventName.StartsWith(e[..^1], StringComparison.Ordinal)));
}
