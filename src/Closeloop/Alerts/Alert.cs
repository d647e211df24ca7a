using Closeloop.Data;

namespace Closeloop.Alerts;

public static class AlertStatus
{
    public const string Open = "open";
    public const string Acknowledged = "acknowledged";
    public const string WaitingOnCustomer = "waiting_on_customer";
    public const string Resolved = "resolved";
    public const string Closed = "closed";

    public static readonly string[] All = [Open, Acknowledged, WaitingOnCustomer, Resolved, Closed];

    /// <summary>States in which the alert still needs someone to act, and its deadline runs (unless paused).</summary>
    public static readonly string[] Active = [Open, Acknowledged, WaitingOnCustomer];

    public static bool IsActive(string status) => status is Open or Acknowledged or WaitingOnCustomer;
}

public static class ActionTypes
{
    public const string Created = "created";
    public const string MatchAbsorbed = "match_absorbed";
    public const string Acknowledge = "acknowledge";
    public const string Note = "note";
    public const string ContactAttempted = "contact_attempted";
    public const string CustomerReached = "customer_reached";
    public const string CallbackScheduled = "callback_scheduled";
    public const string GestureOffered = "gesture_offered";
    public const string GestureApproved = "gesture_approved";
    public const string WaitOnCustomer = "wait_on_customer";
    public const string RootCauseTagged = "root_cause_tagged";
    public const string Resolve = "resolve";
    public const string Close = "close";
    public const string Reopen = "reopen";
    public const string Reassign = "reassign";
    public const string Warned = "warned";
    public const string Escalated = "escalated";
    public const string CustomerTold = "customer_told";
    public const string FollowUpAnswered = "follow_up_answered";

    /// <summary>
    /// The step a client named, in the form it is stored: case, spaces, hyphens and camelCase do not matter, and the
    /// past tense the log reads in ("acknowledged", "resolved", "root cause tagged") means the step itself.
    /// </summary>
    public static string Canonical(string raw)
    {
        var name = CloseloopDb.SnakeCase(raw.Trim());
        return name switch
        {
            "ack" or "acknowledged" => Acknowledge,
            "noted" or "comment" => Note,
            "contact_attempt" or "attempted_contact" or "attempt_contact" => ContactAttempted,
            "reached" or "reach_customer" or "customer_contacted" => CustomerReached,
            "callback" or "schedule_callback" => CallbackScheduled,
            "gesture" or "offer_gesture" or "gesture_offer" => GestureOffered,
            "approve_gesture" => GestureApproved,
            "wait" or "waiting" or "waiting_on_customer" => WaitOnCustomer,
            "root_cause" or "tag_root_cause" or "root_cause_tag" => RootCauseTagged,
            "resolved" => Resolve,
            "closed" => Close,
            "reopened" => Reopen,
            "reassigned" or "assign" => Reassign,
            "told" or "tell_customer" or "customer_informed" or "told_customer" => CustomerTold,
            _ => name,
        };
    }

    /// <summary>The steps a person may post to POST /alerts/{id}/actions.</summary>
    public static readonly string[] Manual =
        [Acknowledge, Note, ContactAttempted, CustomerReached, CallbackScheduled, GestureOffered, GestureApproved, WaitOnCustomer, RootCauseTagged, Resolve, Close, Reopen, Reassign, CustomerTold];
}

/// <summary>
/// Thrown when an action does not fit the alert's state; the API answers 409. <see cref="ActiveAlertId"/> names the
/// alert that stands in the way, when another one does.
/// </summary>
public sealed class AlertTransitionException(string message, long? activeAlertId = null) : Exception(message)
{
    public long? ActiveAlertId { get; } = activeAlertId;
}

/// <summary>
/// A service-recovery alert: who owns it, by when, at which escalation level, and where it is in its life.
/// Every state change goes through a method here, so the state machine reads in one file:
///
///   open ──acknowledge──► acknowledged ◄──customer_reached── waiting_on_customer
///    │                      │   ▲                                ▲
///    │                      │   └──────────(any step)────────────┤
///    │                      └──wait_on_customer──────────────────┘
///    └──────────────► resolve (root cause + outcome) ──► resolved ──close──► closed
///                                                          │                  │
///                                                          └─────reopen───────┴──► open
/// </summary>
public sealed class Alert
{
    public long Id { get; set; }
    public long RuleId { get; set; }
    public long CustomerId { get; set; }
    public long SiteId { get; set; }
    public long TeamId { get; set; }
    public long AgentId { get; set; }
    public required string TriggerKind { get; set; }
    public long TriggerId { get; set; }
    public string Status { get; set; } = AlertStatus.Open;
    public required string Owner { get; set; }
    public string Clock { get; set; } = "24x7";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset DueAt { get; set; }
    public DateTimeOffset FirstDueAt { get; set; }
    public int WarnedLevel { get; set; } = -1;

    /// <summary>The last level whose breach was reported, so a breach at the end of the chain is reported once.</summary>
    public int BreachNotifiedLevel { get; set; } = -1;
    public DateTimeOffset? PausedAt { get; set; }
    public long? RemainingMs { get; set; }
    public int EscalationLevel { get; set; }
    public int Matches { get; set; } = 1;
    public DateTimeOffset? ActedAt { get; set; }
    public DateTimeOffset? ReachedAt { get; set; }
    public DateTimeOffset? ResolvedAt { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
    public DateTimeOffset? CustomerToldAt { get; set; }
    public string? RootCause { get; set; }
    public string? Outcome { get; set; }
    public int? FollowupScore { get; set; }
    public string? FollowupMetric { get; set; }
    public int Version { get; set; }

    public bool IsActive => AlertStatus.IsActive(Status);

    public bool IsPaused => Status == AlertStatus.WaitingOnCustomer;

    private void Require(string action, params string[] allowed)
    {
        if (!allowed.Contains(Status))
        {
            throw new AlertTransitionException($"'{action}' is not allowed while the alert is {Status}.");
        }
    }

    /// <summary>The first step that reaches toward the customer counts for SLA adherence.</summary>
    private void MarkActed(DateTimeOffset now) => ActedAt ??= now;

    public void Acknowledge(DateTimeOffset now)
    {
        Require(ActionTypes.Acknowledge, AlertStatus.Open);
        Status = AlertStatus.Acknowledged;
        Version++;
        _ = now;
    }

    public void Note()
    {
        if (Status == AlertStatus.Closed)
        {
            throw new AlertTransitionException("A closed alert takes no more notes; reopen it first.");
        }
    }

    /// <summary>Any step toward the customer acknowledges an open alert and resumes a paused clock.</summary>
    public void RecordStep(string action, DateTimeOffset now, BusinessCalendar calendar)
    {
        Require(action, AlertStatus.Open, AlertStatus.Acknowledged, AlertStatus.WaitingOnCustomer);
        if (IsPaused)
        {
            Resume(now, calendar);
        }
        Status = AlertStatus.Acknowledged;
        MarkActed(now);
        Version++;
    }

    /// <summary>The customer heard the outcome from a person; the first time counts for the closed-loop rate.</summary>
    public void CustomerTold(DateTimeOffset now)
    {
        if (Status == AlertStatus.Closed)
        {
            throw new AlertTransitionException("A closed alert takes no more steps; reopen it first.");
        }
        CustomerToldAt ??= now;
        MarkActed(now);
        Version++;
    }

    public void CustomerReached(DateTimeOffset now, BusinessCalendar calendar)
    {
        RecordStep(ActionTypes.CustomerReached, now, calendar);
        ReachedAt ??= now;
    }

    /// <summary>The deadline clock stops while the alert waits on the customer; the remaining time is kept.</summary>
    public void WaitOnCustomer(DateTimeOffset now, BusinessCalendar calendar)
    {
        Require(ActionTypes.WaitOnCustomer, AlertStatus.Open, AlertStatus.Acknowledged);
        RemainingMs = (long)(Clock == "business" ? calendar.Between(now, DueAt) : (DueAt > now ? DueAt - now : TimeSpan.Zero)).TotalMilliseconds;
        PausedAt = now;
        Status = AlertStatus.WaitingOnCustomer;
        MarkActed(now);
        Version++;
    }

    private void Resume(DateTimeOffset now, BusinessCalendar calendar)
    {
        var remaining = TimeSpan.FromMilliseconds(RemainingMs ?? 0);
        DueAt = Clock == "business" ? calendar.Add(now, remaining) : now + remaining;
        PausedAt = null;
        RemainingMs = null;
    }

    public void TagRootCause(string code)
    {
        Require(ActionTypes.RootCauseTagged, AlertStatus.Open, AlertStatus.Acknowledged, AlertStatus.WaitingOnCustomer, AlertStatus.Resolved);
        RootCause = code;
        Version++;
    }

    /// <summary>Resolving needs a confirmed root cause and an outcome: that is what closes the loop and teaches the classifier.</summary>
    public void Resolve(string rootCause, string outcome, DateTimeOffset now)
    {
        Require(ActionTypes.Resolve, AlertStatus.Open, AlertStatus.Acknowledged, AlertStatus.WaitingOnCustomer);
        RootCause = rootCause;
        Outcome = outcome;
        Status = AlertStatus.Resolved;
        ResolvedAt = now;
        PausedAt = null;
        RemainingMs = null;
        MarkActed(now);
        Version++;
    }

    public void Close(DateTimeOffset now)
    {
        Require(ActionTypes.Close, AlertStatus.Resolved);
        Status = AlertStatus.Closed;
        ClosedAt = now;
        Version++;
    }

    /// <summary>
    /// A reopened alert starts a fresh deadline, as if it had just been raised. It is refused while another alert of
    /// the same customer and rule at the same site is active (<paramref name="activeAlertId"/>): the customer would
    /// otherwise have two open alerts about one thing, with two owners and two deadlines. The active one is worked instead.
    /// </summary>
    public void Reopen(DateTimeOffset now, DateTimeOffset newDueAt, long? activeAlertId)
    {
        Require(ActionTypes.Reopen, AlertStatus.Resolved, AlertStatus.Closed);
        if (activeAlertId is { } active)
        {
            throw new AlertTransitionException(
                $"Alert #{active} about the same customer and rule at this site is still active; record the new steps there instead of reopening this one.", active);
        }
        Status = AlertStatus.Open;
        ResolvedAt = null;
        ClosedAt = null;
        Outcome = null;
        DueAt = newDueAt;
        WarnedLevel = -1;
        BreachNotifiedLevel = -1;
        EscalationLevel = 0;
        _ = now;
        Version++;
    }

    public void Reassign(string owner)
    {
        Require(ActionTypes.Reassign, AlertStatus.Open, AlertStatus.Acknowledged, AlertStatus.WaitingOnCustomer);
        Owner = owner;
        Version++;
    }

    /// <summary>True when a warning is due: the deadline is within the lead time and this level was not warned yet.</summary>
    public bool NeedsWarning(DateTimeOffset now, TimeSpan leadTime) =>
        IsRunning && WarnedLevel < EscalationLevel && now >= DueAt - leadTime && now < DueAt;

    /// <summary>
    /// The deadline is the time to reach the customer (PRODUCT.md: "reach the customer within 2 hours"): once they are
    /// reached it is met, and nothing is left to warn about or escalate, as the SLA measure counts it met.
    /// </summary>
    private bool IsRunning => IsActive && !IsPaused && ReachedAt is null;

    public void MarkWarned()
    {
        WarnedLevel = EscalationLevel;
        Version++;
    }

    public void MarkBreachReported()
    {
        BreachNotifiedLevel = EscalationLevel;
        Version++;
    }

    /// <summary>
    /// The deadline passed: the next level of the chain takes the alert with its own deadline. A level with nobody in
    /// it (<paramref name="newOwner"/> null) still counts and sets the new deadline, but the alert stays with its
    /// owner: handing it to "unassigned" would take it away from the one person who is working it.
    /// </summary>
    public void Escalate(string? newOwner, DateTimeOffset newDueAt)
    {
        if (!IsActive || IsPaused)
        {
            throw new AlertTransitionException($"An alert that is {Status} does not escalate.");
        }
        EscalationLevel++;
        Owner = newOwner ?? Owner;
        DueAt = newDueAt;
        Version++;
    }

    public bool IsOverdue(DateTimeOffset now) => IsRunning && now >= DueAt;
}

/// <summary>One line of an alert's append-only log.</summary>
public sealed class AlertAction
{
    public long Id { get; set; }
    public long AlertId { get; set; }
    public required string Type { get; set; }
    public required string Actor { get; set; }
    public DateTimeOffset At { get; set; }
    public string? Data { get; set; }
}
