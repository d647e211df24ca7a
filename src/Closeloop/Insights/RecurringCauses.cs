namespace Closeloop.Insights;

public static class CauseAlertStatus
{
    public const string Open = "open";
    public const string Acknowledged = "acknowledged";
    public const string Closed = "closed";
}

/// <summary>
/// A cause that rose above its normal level, sent to the department that owns it with the evidence: the counts,
/// the baseline, the test's p-value, the sites affected and example comments (contact details masked).
/// </summary>
public sealed class CauseAlert
{
    public long Id { get; set; }
    public required string Cause { get; set; }
    public required string Department { get; set; }

    /// <summary>The UTC day of detection: a cause raises at most one cause alert a day.</summary>
    public DateTimeOffset Day { get; set; }
    public DateTimeOffset WindowStart { get; set; }
    public DateTimeOffset WindowEnd { get; set; }
    public long Observed { get; set; }
    public double Expected { get; set; }
    public double PValue { get; set; }

    /// <summary>JSON: daily series, sites affected and example comments.</summary>
    public required string Evidence { get; set; }
    public required string ProposedBroadcast { get; set; }
    public string Status { get; set; } = CauseAlertStatus.Open;
    public string? AcknowledgedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public void Acknowledge(string actor, DateTimeOffset now)
    {
        if (Status != CauseAlertStatus.Open)
        {
            throw new InvalidTransitionException($"A {Status} cause alert cannot be acknowledged.");
        }
        Status = CauseAlertStatus.Acknowledged;
        AcknowledgedBy = actor;
        UpdatedAt = now;
    }

    public void Close(DateTimeOffset now)
    {
        if (Status == CauseAlertStatus.Closed)
        {
            throw new InvalidTransitionException("The cause alert is already closed.");
        }
        Status = CauseAlertStatus.Closed;
        UpdatedAt = now;
    }
}

public static class ImprovementStatus
{
    public const string Planned = "planned";
    public const string InProgress = "in_progress";
    public const string Shipped = "shipped";
    public const string Cancelled = "cancelled";

    public static readonly string[] All = [Planned, InProgress, Shipped, Cancelled];
}

/// <summary>
/// A fix for a cause, with an owner, a status, a due date and the evidence period. Shipping it tells every
/// customer who raised the cause in that period what changed ("you said, we did"), once.
/// </summary>
public sealed class ImprovementAction
{
    public long Id { get; set; }
    public required string Cause { get; set; }
    public required string Department { get; set; }
    public required string Title { get; set; }
    public string? Description { get; set; }
    public required string Owner { get; set; }
    public string Status { get; set; } = ImprovementStatus.Planned;
    public DateTimeOffset? DueAt { get; set; }
    public DateTimeOffset EvidenceFrom { get; set; }
    public DateTimeOffset EvidenceTo { get; set; }
    public long? CauseAlertId { get; set; }

    /// <summary>What the customers are told was done; the title when empty.</summary>
    public string? Message { get; set; }
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? ShippedAt { get; set; }
    public long CustomersTold { get; set; }
    public long CustomersSkipped { get; set; }

    public bool IsOverdue(DateTimeOffset now) => DueAt is { } due && due < now && Status is ImprovementStatus.Planned or ImprovementStatus.InProgress;

    /// <summary>planned → in_progress → shipped; planned or in progress → cancelled. Shipped and cancelled are final.</summary>
    public void MoveTo(string status, DateTimeOffset now)
    {
        var allowed = (Status, status) switch
        {
            (ImprovementStatus.Planned, ImprovementStatus.InProgress) => true,
            (ImprovementStatus.Planned or ImprovementStatus.InProgress, ImprovementStatus.Shipped) => true,
            (ImprovementStatus.Planned or ImprovementStatus.InProgress, ImprovementStatus.Cancelled) => true,
            _ => false,
        };
        if (!allowed)
        {
            throw new InvalidTransitionException($"An improvement action that is {Status} cannot become {status}.");
        }
        Status = status;
        UpdatedAt = now;
        if (status == ImprovementStatus.Shipped)
        {
            ShippedAt = now;
        }
    }
}

/// <summary>A customer told (or deliberately not told) about a shipped improvement; the key makes it once per customer.</summary>
public sealed class ImprovementNotification
{
    public long ActionId { get; set; }
    public long CustomerId { get; set; }
    public string? Channel { get; set; }

    /// <summary><c>sent</c>, or why not: <c>do-not-contact</c>, <c>no consent</c>, <c>no contact point</c>, <c>already told</c>.</summary>
    public required string Outcome { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A digest sent to a department for a period; the key makes it once per department and period.</summary>
public sealed class DepartmentDigest
{
    public required string Department { get; set; }
    public DateTimeOffset PeriodStart { get; set; }
    public DateTimeOffset PeriodEnd { get; set; }
    public int Recipients { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

public sealed class InvalidTransitionException(string message) : Exception(message);
