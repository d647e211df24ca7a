using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Live;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

public sealed record CauseAlertView(
    long Id, string Cause, string? CauseName, string Department, string Status, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, long Observed, double Expected,
    double PValue, CauseEvidence? Evidence, string ProposedBroadcast, string? AcknowledgedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static CauseAlertView From(CauseAlert a, string? causeName) =>
        new(a.Id, a.Cause, causeName, a.Department, a.Status, a.WindowStart, a.WindowEnd, a.Observed, a.Expected, a.PValue,
            JsonSerializer.Deserialize<CauseEvidence>(a.Evidence, JsonSerializerOptions.Web), a.ProposedBroadcast, a.AcknowledgedBy, a.CreatedAt, a.UpdatedAt);
}

public sealed record ImprovementActionView(
    long Id, string Cause, string Department, string Title, string? Description, string Owner, string Status, DateTimeOffset? DueAt, bool Overdue,
    DateTimeOffset EvidenceFrom, DateTimeOffset EvidenceTo, long? CauseAlertId, string? Message, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? ShippedAt, long CustomersTold, long CustomersSkipped)
{
    public static ImprovementActionView From(ImprovementAction a, DateTimeOffset now) =>
        new(a.Id, a.Cause, a.Department, a.Title, a.Description, a.Owner, a.Status, a.DueAt, a.IsOverdue(now), a.EvidenceFrom, a.EvidenceTo, a.CauseAlertId, a.Message,
            a.CreatedBy, a.CreatedAt, a.UpdatedAt, a.ShippedAt, a.CustomersTold, a.CustomersSkipped);
}

/// <summary>
/// Cause alerts (a cause that rose above its normal level) and improvement actions (the fixes, and "you said, we
/// did" when one ships). A department sees and works only the causes it owns; admins and executives see all.
/// </summary>
public static class RecurringCauseEndpoints
{
    public static IEndpointRouteBuilder MapRecurringCauses(this IEndpointRouteBuilder routes)
    {
        var alerts = routes.MapGroup("/api/v1/cause-alerts").WithTags("Recurring causes");

        alerts.MapGet("/", async (HttpContext http, CloseloopDb db, string? status, string? department, string? cause, int? limit, CancellationToken ct) =>
            {
                var query = Visible(db.CauseAlerts.AsNoTracking(), http.User);
                query = status is null ? query : query.Where(a => a.Status == status);
                query = department is null ? query : query.Where(a => a.Department == department);
                query = cause is null ? query : query.Where(a => a.Cause == cause);
                var list = await query.OrderByDescending(a => a.CreatedAt).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);
                var names = await db.RootCauses.AsNoTracking().ToDictionaryAsync(c => c.Code, c => c.Name, ct);
                return TypedResults.Ok(list.Select(a => CauseAlertView.From(a, names.GetValueOrDefault(a.Cause))).ToList());
            })
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("ListCauseAlerts").WithSummary("Causes that rose above their normal level, newest first; filter by status, department or cause.");

        alerts.MapGet("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await Visible(db.CauseAlerts.AsNoTracking(), http.User).FirstOrDefaultAsync(a => a.Id == id, ct) is { } alert
                    ? TypedResults.Ok(CauseAlertView.From(alert, await db.RootCauses.Where(c => c.Code == alert.Cause).Select(c => c.Name).FirstOrDefaultAsync(ct)))
                    : TypedResults.NotFound())
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("GetCauseAlert").WithSummary("One cause alert with its evidence: daily counts, sites affected, masked example comments and the proposed broadcast.");

        foreach (var verb in new[] { "acknowledge", "close" })
        {
            alerts.MapPost($"/{{id:long}}/{verb}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, AlertEventPublisher publisher, CancellationToken ct) =>
                {
                    var alert = await Visible(db.CauseAlerts, http.User).FirstOrDefaultAsync(a => a.Id == id, ct);
                    if (alert is null)
                    {
                        return TypedResults.NotFound();
                    }
                    var now = time.GetUtcNow();
                    try
                    {
                        if (verb == "acknowledge")
                        {
                            alert.Acknowledge(CallerScope.From(http.User).Actor, now);
                        }
                        else
                        {
                            alert.Close(now);
                        }
                    }
                    catch (InvalidTransitionException ex)
                    {
                        return Problems.Conflict(ex.Message);
                    }
                    await db.SaveChangesAsync(ct);
                    await publisher.AfterCommitAsync(db, RecurringCauseWorker.LiveEvent(alert, "cause_alert.updated", now), ct);
                    return TypedResults.Ok(CauseAlertView.From(alert, null));
                })
                .RequireAuthorization(Policies.WorkCauses)
                .WithName(verb == "acknowledge" ? "AcknowledgeCauseAlert" : "CloseCauseAlert")
                .WithSummary(verb == "acknowledge" ? "The department has seen the rise and is on it." : "The rise is dealt with.");
        }

        alerts.MapGet("/stream", (HttpContext http, AlertEventHub hub, CancellationToken ct) =>
                TypedResults.ServerSentEvents(CauseEventsAsync(hub, http.User, ct)))
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("StreamCauseAlerts").WithSummary("Server-Sent Events: cause alerts raised and updated, for the departments the caller may see.");

        alerts.MapPost("/detect", async (RecurringCauseWorker worker, CancellationToken ct) =>
                TypedResults.Ok((await worker.DetectAsync(ct)).Select(a => CauseAlertView.From(a, null)).ToList()))
            .RequireAuthorization(Policies.Admin)
            .WithName("DetectRisingCauses").WithSummary("Run the spike detector now (it also runs every few minutes) and return the cause alerts it raised.");

        routes.MapPost("/api/v1/insights/digests/send", async (RecurringCauseWorker worker, CancellationToken ct) =>
                TypedResults.Ok(new { sent = await worker.SendDigestsAsync(ct) }))
            .RequireAuthorization(Policies.Admin).WithTags("Recurring causes")
            .WithName("SendDepartmentDigests").WithSummary("Send the department digests of the last complete period that have not gone out yet.");

        MapImprovementActions(routes.MapGroup("/api/v1/improvement-actions").WithTags("Recurring causes"));
        return routes;
    }

    private static void MapImprovementActions(RouteGroupBuilder actions)
    {
        actions.MapGet("/", async (HttpContext http, CloseloopDb db, TimeProvider time, string? cause, string? status, CancellationToken ct) =>
            {
                var query = Visible(db.ImprovementActions.AsNoTracking(), http.User);
                query = cause is null ? query : query.Where(a => a.Cause == cause);
                query = status is null ? query : query.Where(a => a.Status == status);
                var now = time.GetUtcNow();
                return TypedResults.Ok((await query.OrderByDescending(a => a.CreatedAt).Take(1000).ToListAsync(ct)).Select(a => ImprovementActionView.From(a, now)).ToList());
            })
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("ListImprovementActions").WithSummary("Improvement actions, newest first; filter by cause or status.");

        actions.MapGet("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var action = await Visible(db.ImprovementActions.AsNoTracking(), http.User).FirstOrDefaultAsync(a => a.Id == id, ct);
                if (action is null)
                {
                    return TypedResults.NotFound();
                }
                var evidence = await RecurringCauseWorker.EvidenceAsync(db, action.Cause, action.EvidenceFrom.ToUnixTimeMilliseconds(), action.EvidenceTo.ToUnixTimeMilliseconds(), [], ct);
                var outcomes = await db.ImprovementNotifications.AsNoTracking().Where(n => n.ActionId == id).GroupBy(n => n.Outcome)
                    .Select(g => new { g.Key, Count = g.LongCount() }).ToDictionaryAsync(g => g.Key, g => g.Count, ct);
                return TypedResults.Ok(new { action = ImprovementActionView.From(action, time.GetUtcNow()), evidence, notifications = outcomes });
            })
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("GetImprovementAction").WithSummary("One improvement action with its evidence (sites and masked examples in its period) and who was told.");

        actions.MapPost("/", async Task<IResult> (HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var body = document!.RootElement;
                    if (body.ValueKind != JsonValueKind.Object)
                    {
                        return Problems.Validation("body", "must be a JSON object");
                    }
                    var now = time.GetUtcNow();
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var input = new Fields(body, errors);
                    var causeCode = input.Text("cause", required: true)?.ToLowerInvariant();
                    var title = input.Text("title", required: true, max: 200);
                    var owner = input.Text("owner", required: true, max: 200);
                    var description = input.Text("description", max: 4000);
                    var message = input.Text("message", max: 2000);
                    var dueAt = input.Instant("dueAt");
                    var alertId = input.Number("causeAlertId");
                    var cause = causeCode is null ? null : await db.RootCauses.AsNoTracking().FirstOrDefaultAsync(c => c.Code == causeCode, ct);
                    if (causeCode is not null && cause is null)
                    {
                        errors["cause"] = ["must be a code from GET /api/v1/root-causes"];
                    }
                    CauseAlert? causeAlert = null;
                    if (alertId is not null && (causeAlert = await Visible(db.CauseAlerts.AsNoTracking(), http.User).FirstOrDefaultAsync(a => a.Id == alertId, ct)) is null)
                    {
                        errors["causeAlertId"] = ["is not a cause alert you can see"];
                    }
                    // The evidence period: the cause alert's window when there is one, else the last 30 days.
                    var evidenceTo = input.Instant("evidenceTo") ?? causeAlert?.WindowEnd ?? now;
                    var evidenceFrom = input.Instant("evidenceFrom") ?? causeAlert?.WindowStart ?? evidenceTo.AddDays(-30);
                    if (evidenceFrom >= evidenceTo)
                    {
                        errors["evidenceFrom"] = ["must be before evidenceTo"];
                    }
                    if (cause is not null && !MayWork(http.User, cause.Department))
                    {
                        errors["cause"] = [$"belongs to {cause.Department}; a department runs improvement actions only for its own causes"];
                    }
                    if (errors.Count > 0)
                    {
                        return Problems.Validation(errors);
                    }
                    var action = new ImprovementAction
                    {
                        Cause = cause!.Code, Department = cause.Department, Title = title!, Description = description, Owner = owner!, DueAt = dueAt,
                        EvidenceFrom = evidenceFrom, EvidenceTo = evidenceTo, CauseAlertId = causeAlert?.Id, Message = message,
                        CreatedBy = CallerScope.From(http.User).Actor, CreatedAt = now, UpdatedAt = now,
                    };
                    db.ImprovementActions.Add(action);
                    await db.SaveChangesAsync(ct);
                    return TypedResults.Created($"/api/v1/improvement-actions/{action.Id}", ImprovementActionView.From(action, now));
                }
            })
            .RequireAuthorization(Policies.WorkCauses)
            .WithName("CreateImprovementAction")
            .WithSummary("A fix for a cause: cause, title, owner, optional dueAt, description, message (what customers are told), causeAlertId, evidenceFrom/evidenceTo.");

        actions.MapPost("/{id:long}/status", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, ImprovementShipping shipping, CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    if (document!.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        return Problems.Validation("body", "must be a JSON object");
                    }
                    var input = new Fields(document.RootElement, errors);
                    var status = input.Text("status", required: true)?.ToLowerInvariant();
                    var message = input.Text("message", max: 2000);
                    if (status is not null && !ImprovementStatus.All.Contains(status))
                    {
                        errors["status"] = [$"must be one of {string.Join(", ", ImprovementStatus.All)}"];
                    }
                    if (errors.Count > 0)
                    {
                        return Problems.Validation(errors);
                    }
                    var action = await Visible(db.ImprovementActions, http.User).FirstOrDefaultAsync(a => a.Id == id, ct);
                    if (action is null || !MayWork(http.User, action.Department))
                    {
                        return TypedResults.NotFound();
                    }
                    try
                    {
                        if (status == ImprovementStatus.Shipped)
                        {
                            var result = await shipping.ShipAsync(db, action, message, ct);
                            return TypedResults.Ok(new { action = ImprovementActionView.From(action, time.GetUtcNow()), customersTold = result.Told, skipped = result.SkippedBecause });
                        }
                        action.MoveTo(status!, time.GetUtcNow());
                        action.Message = message ?? action.Message;
                        await db.SaveChangesAsync(ct);
                        return TypedResults.Ok(new { action = ImprovementActionView.From(action, time.GetUtcNow()), customersTold = 0L, skipped = new Dictionary<string, long>() });
                    }
                    catch (InvalidTransitionException ex)
                    {
                        return Problems.Conflict(ex.Message);
                    }
                }
            })
            .RequireAuthorization(Policies.WorkCauses)
            .WithName("ChangeImprovementStatus")
            .WithSummary("Move an action: planned → in_progress → shipped, or cancelled. Shipped tells every customer who raised the cause in the evidence period, once.");
    }

    private static async IAsyncEnumerable<SseItem<AlertEvent>> CauseEventsAsync(AlertEventHub hub, ClaimsPrincipal user, [EnumeratorCancellation] CancellationToken ct)
    {
        var reader = hub.Subscribe(out var unsubscribe);
        try
        {
            await foreach (var next in reader.ReadAllAsync(ct))
            {
                if (next.Type.StartsWith("cause_alert.", StringComparison.Ordinal) && MaySee(user, next.Owner["department:".Length..]))
                {
                    yield return new SseItem<AlertEvent>(next, next.Type) { EventId = next.AlertId.ToString(CultureInfo.InvariantCulture) };
                }
            }
        }
        finally
        {
            unsubscribe();
        }
    }

    /// <summary>A department (by its claim) sees only the causes it owns; a department caller without one sees none.</summary>
    private static string? DepartmentOf(ClaimsPrincipal user) =>
        user.IsInRole(Roles.Department) ? user.FindFirstValue(ClaimNames.Department) ?? "" : null;

    private static bool MaySee(ClaimsPrincipal user, string department) => DepartmentOf(user) is not { } own || own == department;

    private static bool MayWork(ClaimsPrincipal user, string department) => MaySee(user, department);

    private static IQueryable<CauseAlert> Visible(IQueryable<CauseAlert> query, ClaimsPrincipal user) =>
        DepartmentOf(user) is { } own ? query.Where(a => a.Department == own) : query;

    private static IQueryable<ImprovementAction> Visible(IQueryable<ImprovementAction> query, ClaimsPrincipal user) =>
        DepartmentOf(user) is { } own ? query.Where(a => a.Department == own) : query;

    /// <summary>Reads typed fields from a JSON object and names every bad one.</summary>
    private readonly struct Fields(JsonElement body, Dictionary<string, string[]> errors)
    {
        public string? Text(string name, bool required = false, int max = 200)
        {
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                if (required)
                {
                    errors[name] = ["is required"];
                }
                return null;
            }
            if (value.ValueKind != JsonValueKind.String || value.GetString()!.Trim() is not { Length: > 0 } text)
            {
                errors[name] = ["must be a non-empty string"];
                return null;
            }
            if (text.Length > max)
            {
                errors[name] = [$"must be at most {max} characters"];
                return null;
            }
            return text;
        }

        public DateTimeOffset? Instant(string name) =>
            Text(name) is { } text
                ? DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : Error<DateTimeOffset?>(name, "must be an ISO 8601 date or date and time")
                : null;

        public long? Number(string name) =>
            !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
            : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : Error<long?>(name, "must be an integer");

        private T? Error<T>(string name, string message)
        {
            errors[name] = [message];
            return default;
        }
    }
}
