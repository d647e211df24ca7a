namespace Closeloop.Contacts;

/// <summary>One interaction on one channel.</summary>
public sealed class Contact
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public byte[] ContentHash { get; set; } = [];
    public long CustomerId { get; set; }
    public required string Channel { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
    public long SiteId { get; set; }
    public long TeamId { get; set; }
    public long AgentId { get; set; }
    public string? Queue { get; set; }
    public string? Reason { get; set; }
    public int? WaitSeconds { get; set; }
    public int? Transfers { get; set; }
    public bool? Resolved { get; set; }
    public string? Summary { get; set; }
    public long? IssueId { get; set; }
    public double? Sentiment { get; set; }
    public string? Signals { get; set; }
    public string? RootCause { get; set; }
    public double? RootCauseConfidence { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>For a repeat contact, the time since the previous contact on the same issue.</summary>
    public long? RepeatGapMs { get; set; }
}

/// <summary>
/// The contacts of one customer about one reason, chained while each comes within the repeat window of the
/// last. An issue resolved on its first contact is what FCR counts; its dimensions are those of that first contact.
/// </summary>
public sealed class ContactIssue
{
    public long Id { get; set; }
    public long CustomerId { get; set; }
    public required string Reason { get; set; }
    public DateTimeOffset FirstAt { get; set; }
    public DateTimeOffset LastAt { get; set; }
    public int ContactCount { get; set; }
    public bool? FirstResolved { get; set; }
    public long Day { get; set; }
    public long SiteId { get; set; }
    public long TeamId { get; set; }
    public long AgentId { get; set; }
    public required string Channel { get; set; }

    /// <summary>FCR: one contact only, and not explicitly marked unresolved.</summary>
    public bool ResolvedOnFirstContact => ContactCount == 1 && FirstResolved != false;
}

public static class Channels
{
    public static readonly IReadOnlyList<string> All = ["phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person"];

    // Accept the spellings integrations commonly send and store one canonical name.
    public static string? Normalize(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        var v = value.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
        return v switch
        {
            "phone" or "voice" or "call" or "telephone" => "phone",
            "ivr" => "ivr",
            "email" or "e_mail" or "mail" => "email",
            "chat" or "webchat" or "web_chat" or "livechat" or "live_chat" => "chat",
            "sms" or "text" or "whatsapp" => "sms",
            "social" or "twitter" or "facebook" or "instagram" or "x" => "social",
            "web_form" or "webform" or "web" or "form" => "web_form",
            "in_person" or "inperson" or "store" or "branch" or "walk_in" => "in_person",
            _ => null,
        };
    }
}
