using Closeloop.Security;

namespace Closeloop.Customers;

/// <summary>
/// What an agent learned about a customer ("hard of hearing, speak slowly", "prefers calls after 18:00"), shown
/// to every later agent. A note keeps who wrote it and when, and who last changed it.
/// </summary>
public sealed class CustomerNote
{
    public const int MaxLength = 4000;

    public long Id { get; set; }
    public long CustomerId { get; set; }

    /// <summary><see cref="NoteKinds.Note"/> or <see cref="NoteKinds.Preference"/>.</summary>
    public required string Kind { get; set; }
    public required string Text { get; set; }

    /// <summary>The site of the writer, so that one vendor's notes stay out of another vendor's sight; null when written centrally.</summary>
    public long? SiteId { get; set; }
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string? UpdatedBy { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }

    public bool IsVisibleTo(CallerScope scope) => scope.SiteId is null || SiteId is null || SiteId == scope.SiteId;

    /// <summary>
    /// The writer may correct their note; supervisors, site managers and admins may correct anyone's written at their
    /// own site, and only an unscoped one may correct a note written centrally, which every site reads.
    /// </summary>
    public bool CanBeEditedBy(CallerScope scope) =>
        IsVisibleTo(scope) && (scope.Actor == CreatedBy
            || (scope.Role is Roles.Admin or Roles.SiteManager or Roles.Supervisor && (scope.SiteId is null || SiteId == scope.SiteId)));

    public void Edit(string text, string by, DateTimeOffset now)
    {
        Text = text;
        UpdatedBy = by;
        UpdatedAt = now;
    }
}

public static class NoteKinds
{
    public const string Note = "note";
    public const string Preference = "preference";

    public static readonly string[] All = [Note, Preference];
}
