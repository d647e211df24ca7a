using System.Globalization;
using System.Security.Claims;
using Closeloop.Data;
using Closeloop.Live;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

/// <summary>An improvement action as a form or a JSON body gives it: text, validated in one place.</summary>
public sealed record ImprovementInput(
    string? Cause, string? Title, string? Owner, string? Description, string? Message, string? DueAt, long? CauseAlertId, string? EvidenceFrom, string? EvidenceTo);

/// <summary>
/// What the API and the console both do with cause alerts and improvement actions: who may see them, and the
/// changes, validated once so that both answer the same way.
/// </summary>
public static class CauseWork
{
    /// <summary>A department (by its claim) sees only the causes it owns; a department caller without one sees none.</summary>
    public static string? DepartmentOf(ClaimsPrincipal user) =>
        user.IsInRole(Roles.Department) ? user.FindFirstValue(ClaimNames.Department) ?? "" : null;

    public static bool MaySee(ClaimsPrincipal user, string department) => DepartmentOf(user) is not { } own || own == department;

    /// <summary>
    /// Behind <see cref="Policies.ReadCauses"/> and <see cref="Policies.WorkCauses"/> and the console's pages: a cause
    /// alert counts every site, so no caller confined to one.
    /// </summary>
    public static bool MayRead(ClaimsPrincipal user) => Roles.CauseReaders.Any(user.IsInRole) && !Roles.IsSiteScoped(user);

    public static bool MayWork(ClaimsPrincipal user) => Roles.CauseWorkers.Any(user.IsInRole) && !Roles.IsSiteScoped(user);

    public static IQueryable<CauseAlert> Visible(IQueryable<CauseAlert> query, ClaimsPrincipal user) =>
        DepartmentOf(user) is { } own ? query.Where(a => a.Department == own) : query;

    public static IQueryable<ImprovementAction> Visible(IQueryable<ImprovementAction> query, ClaimsPrincipal user) =>
        DepartmentOf(user) is { } own ? query.Where(a => a.Department == own) : query;

    /// <summary>Acknowledges or closes a cause alert; null when the caller may not see it, a message on a wrong transition.</summary>
    public static async Task<(CauseAlert? Alert, string? Conflict)> ChangeAlertAsync(CloseloopDb db, AlertEventPublisher publisher, ClaimsPrincipal user, long id, string verb,
        DateTimeOffset now, CancellationToken ct)
    {
        var alert = await Visible(db.CauseAlerts, user).FirstOrDefaultAsync(a => a.Id == id, ct);
        if (alert is null)
        {
            return (null, null);
        }
        try
        {
            if (verb == "acknowledge")
            {
                alert.Acknowledge(CallerScope.From(user).Actor, now);
            }
            else
            {
                alert.Close(now);
            }
        }
        catch (InvalidTransitionException ex)
        {
            return (alert, ex.Message);
        }
        await db.SaveChangesAsync(ct);
        await publisher.AfterCommitAsync(db, RecurringCauseWorker.LiveEvent(alert, "cause_alert.updated", now), ct);
        return (alert, null);
    }

    /// <summary>
    /// Posts a cause alert's proposed broadcast (or an edited one) to agents. Whoever may broadcast may post it:
    /// the proposal holds counts and the cause's name, no customer's words, so site supervisors may use it too.
    /// </summary>
    public static async Task<(Broadcasts.Broadcast? Broadcast, Dictionary<string, string[]> Errors, bool Found)> BroadcastAsync(CloseloopDb db,
        Broadcasts.BroadcastPublisher publisher, ClaimsPrincipal user, long id, Broadcasts.BroadcastInput input, DateTimeOffset now, CancellationToken ct)
    {
        var alert = await Visible(db.CauseAlerts.AsNoTracking(), user).FirstOrDefaultAsync(a => a.Id == id, ct);
        if (alert is null)
        {
            return (null, [], false);
        }
        var scope = CallerScope.From(user);
        var (broadcast, errors) = await Broadcasts.BroadcastEndpoints.CreateAsync(db, scope, user.FindFirstValue(WebConsole.PersonSignIn.DisplayNameClaim),
            input with { Message = input.Message ?? alert.ProposedBroadcast, ExpiresIn = input.ExpiresIn ?? "PT8H" }, now, ct);
        if (broadcast is not null)
        {
            await Broadcasts.BroadcastEndpoints.PublishPostedAsync(db, publisher, broadcast, ct);
        }
        return (broadcast, errors, true);
    }

    public static async Task<(ImprovementAction? Action, Dictionary<string, string[]> Errors)> CreateActionAsync(CloseloopDb db, ClaimsPrincipal user, ImprovementInput input,
        DateTimeOffset now, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var code = input.Cause?.Trim().ToLowerInvariant();
        string? Required(string? value, string field, int max)
        {
            var text = value?.Trim();
            if (string.IsNullOrEmpty(text))
            {
                errors[field] = ["is required"];
                return null;
            }
            if (text.Length > max)
            {
                errors[field] = [$"must be at most {max} characters"];
                return null;
            }
            return text;
        }
        DateTimeOffset? Instant(string? value, string field)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                return null;
            }
            if (Web.IsoTime.TryParse(value, out var at))
            {
                return at;
            }
            errors[field] = ["must be an ISO 8601 date or date and time"];
            return null;
        }
        var title = Required(input.Title, "title", 200);
        var owner = Required(input.Owner, "owner", 200);
        var dueAt = Instant(input.DueAt, "dueAt");
        var cause = string.IsNullOrEmpty(code) ? null : await db.RootCauses.AsNoTracking().FirstOrDefaultAsync(c => c.Code == code, ct);
        if (cause is null)
        {
            errors["cause"] = ["must be a code from GET /api/v1/root-causes"];
        }
        else if (!MaySee(user, cause.Department))
        {
            errors["cause"] = [$"belongs to {cause.Department}; a department runs improvement actions only for its own causes"];
        }
        if (input.Description?.Length > 4000)
        {
            errors["description"] = ["must be at most 4,000 characters"];
        }
        if (input.Message?.Length > 2000)
        {
            errors["message"] = ["must be at most 2,000 characters"];
        }
        CauseAlert? causeAlert = null;
        if (input.CauseAlertId is { } alertId && (causeAlert = await Visible(db.CauseAlerts.AsNoTracking(), user).FirstOrDefaultAsync(a => a.Id == alertId, ct)) is null)
        {
            errors["causeAlertId"] = ["is not a cause alert you can see"];
        }
        else if (causeAlert is not null && cause is not null && causeAlert.Cause != cause.Code)
        {
            errors["causeAlertId"] = [$"is about {causeAlert.Cause}, not {cause.Code}"];
        }
        // The evidence period: the cause alert's window when there is one, else the last 30 days.
        // A date alone is the whole UTC day, as in every period the API takes, so the end is the next midnight.
        var evidenceTo = Instant(input.EvidenceTo, "evidenceTo") is { } end
            ? (Web.IsoTime.IsDate(input.EvidenceTo!) ? Web.IsoTime.EndOfDay(end) : end)
            : causeAlert?.WindowEnd ?? now;
        var evidenceFrom = Instant(input.EvidenceFrom, "evidenceFrom") ?? causeAlert?.WindowStart ?? evidenceTo.AddDays(-30);
        if (evidenceFrom >= evidenceTo)
        {
            errors["evidenceFrom"] = ["must be before evidenceTo"];
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        var action = new ImprovementAction
        {
            Cause = cause!.Code, Department = cause.Department, Title = title!, Description = input.Description?.Trim() is { Length: > 0 } d ? d : null, Owner = owner!,
            DueAt = dueAt, EvidenceFrom = evidenceFrom, EvidenceTo = evidenceTo, CauseAlertId = causeAlert?.Id,
            Message = input.Message?.Trim() is { Length: > 0 } m ? m : null, CreatedBy = CallerScope.From(user).Actor, CreatedAt = now, UpdatedAt = now,
        };
        db.ImprovementActions.Add(action);
        await db.SaveChangesAsync(ct);
        return (action, errors);
    }

    /// <summary>Moves an action to a status; shipping tells the customers. Null when the caller may not see it.</summary>
    public static async Task<(ImprovementAction? Action, ShipResult? Shipped, string? Conflict)> ChangeStatusAsync(CloseloopDb db, ImprovementShipping shipping, ClaimsPrincipal user,
        long id, string status, string? message, DateTimeOffset now, CancellationToken ct)
    {
        var action = await Visible(db.ImprovementActions, user).FirstOrDefaultAsync(a => a.Id == id, ct);
        if (action is null)
        {
            return (null, null, null);
        }
        try
        {
            if (status == ImprovementStatus.Shipped)
            {
                return (action, await shipping.ShipAsync(db, action, message, ct), null);
            }
            action.MoveTo(status, now);
            action.Message = message ?? action.Message;
            await db.SaveChangesAsync(ct);
            return (action, null, null);
        }
        catch (InvalidTransitionException ex)
        {
            return (action, null, ex.Message);
        }
    }
}
