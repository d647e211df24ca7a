using System.Buffers.Text;
using System.Security.Cryptography;

namespace Closeloop.Surveys;

/// <summary>A single-use survey link for one customer, optionally about a contact or following up an alert.</summary>
public sealed class SurveyInvitation
{
    /// <summary>A new link token: 192 random bits, URL-safe, so the link alone is the credential (ADR 004).</summary>
    public static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    public long Id { get; set; }
    public required string Token { get; set; }
    public long CustomerId { get; set; }
    public long? ContactId { get; set; }
    public long? AlertId { get; set; }

    /// <summary>The site an answer belongs to when the invitation is about no contact and no alert.</summary>
    public long? SiteId { get; set; }
    public long? SurveyId { get; set; }
    public required string Metric { get; set; }
    public string? Channel { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public DateTimeOffset? OpenedAt { get; set; }
    public DateTimeOffset? AnsweredAt { get; set; }
    public long? ResponseId { get; set; }

    /// <summary>The answers other than the score and the comment, as JSON (those two are on the response).</summary>
    public string? Answers { get; set; }

    /// <summary>An invitation is answered once; after that, or once expired, its link is refused.</summary>
    public InvitationState StateAt(DateTimeOffset now) =>
        AnsweredAt is not null ? InvitationState.Answered
        : now >= ExpiresAt ? InvitationState.Expired
        : InvitationState.Open;
}

public enum InvitationState
{
    Open,
    Answered,
    Expired,
}
