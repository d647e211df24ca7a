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

        alerts.MapGet("/", async Task<IResult> (HttpContext http, CloseloopDb db, string? status, string? department, string? cause, int? limit, CancellationToken ct) =>
            {
                // An empty filter is no filter; a status that does not exist is a mistake to name, not an empty list.
                status = string.IsNullOrWhiteSpace(status) ? null : status.Trim().ToLowerInvariant();
                if (status is not (null or CauseAlertStatus.Open or CauseAlertStatus.Acknowledged or CauseAlertStatus.Closed))
                {
                    return Problems.Validation("status", "must be open, acknowledged or closed");
                }
                var query = CauseWork.Visible(db.CauseAlerts.AsNoTracking(), http.User);
                query = status is null ? query : query.Where(a => a.Status == status);
                // Department names are typed by admins ("Billing"); a filter matches them without case.
                query = string.IsNullOrWhiteSpace(department) ? query : query.Where(a => a.Department.ToLower() == department.Trim().ToLower());
                query = string.IsNullOrWhiteSpace(cause) ? query : query.Where(a => a.Cause == cause.Trim().ToLower());
                var list = await query.OrderByDescending(a => a.CreatedAt).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);
                var names = await db.RootCauses.AsNoTracking().ToDictionaryAsync(c => c.Code, c => c.Name, ct);
                return TypedResults.Ok(list.Select(a => CauseAlertView.From(a, names.GetValueOrDefault(a.Cause))).ToList());
            })
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("ListCauseAlerts").WithSummary("Causes that rose above their normal level, newest first; filter by status, department or cause.");

        alerts.MapGet("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await CauseWork.Visible(db.CauseAlerts.AsNoTracking(), http.User).FirstOrDefaultAsync(a => a.Id == id, ct) is { } alert
                    ? TypedResults.Ok(CauseAlertView.From(alert, await db.RootCauses.Where(c => c.Code == alert.Cause).Select(c => c.Name).FirstOrDefaultAsync(ct)))
                    : TypedResults.NotFound())
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("GetCauseAlert").WithSummary("One cause alert with its evidence: daily counts, sites affected, masked example comments and the proposed broadcast.");

        foreach (var verb in new[] { "acknowledge", "close" })
        {
            alerts.MapPost($"/{{id:long}}/{verb}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, AlertEventPublisher publisher, CancellationToken ct) =>
                {
                    var (alert, conflict) = await CauseWork.ChangeAlertAsync(db, publisher, http.User, id, verb, time.GetUtcNow(), ct);
                    return alert is null ? TypedResults.NotFound()
                        : conflict is not null ? Problems.Conflict(conflict)
                        : TypedResults.Ok(CauseAlertView.From(alert, await db.RootCauses.Where(c => c.Code == alert.Cause).Select(c => c.Name).FirstOrDefaultAsync(ct)));
                })
                .RequireAuthorization(Policies.WorkCauses)
                .WithName(verb == "acknowledge" ? "AcknowledgeCauseAlert" : "CloseCauseAlert")
                .WithSummary(verb == "acknowledge" ? "The department has seen the rise and is on it." : "The rise is dealt with.");
        }

        alerts.MapPost("/{id:long}/broadcast", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, Broadcasts.BroadcastPublisher broadcasts,
                CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadObjectAsync(http.Request, ct, optional: true);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var body = document?.RootElement ?? default;
                    var fields = new JsonFields(body, errors);
                    var input = document is null ? new Broadcasts.BroadcastInput(null, null, null, null, null)
                        : new Broadcasts.BroadcastInput(fields.Text("message", max: 10_000), fields.Text("priority"), fields.Text("site"), fields.Text("team"), fields.Text("expiresIn"));
                    if (errors.Count > 0)
                    {
                        return Problems.Validation(errors);
                    }
                    var (broadcast, invalid, found) = await CauseWork.BroadcastAsync(db, broadcasts, http.User, id, input, time.GetUtcNow(), ct);
                    return !found ? TypedResults.NotFound()
                        : broadcast is null ? Problems.Validation(invalid)
                        : TypedResults.Created($"/api/v1/broadcasts/{broadcast.Id}", new { id = broadcast.Id, message = broadcast.Message, priority = broadcast.Priority, expiresAt = broadcast.ExpiresAt });
                }
            })
            .RequireAuthorization(Policies.Broadcast)
            .WithName("BroadcastCauseAlert")
            .WithSummary("Post the cause alert's proposed broadcast to agents (optionally edited: message, priority, site, team, expiresIn); supervisors post to their own site.");

        alerts.MapGet("/stream", (HttpContext http, AlertEventHub hub, CancellationToken ct) =>
                TypedResults.ServerSentEvents(CauseEventsAsync(hub, http.User, ct)))
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("StreamCauseAlerts").WithSummary("Server-Sent Events: cause alerts raised and updated, for the departments the caller may see.");

        alerts.MapPost("/detect", async (RecurringCauseWorker worker, CloseloopDb db, CancellationToken ct) =>
            {
                var raised = await worker.DetectAsync(ct);
                var names = await db.RootCauses.AsNoTracking().ToDictionaryAsync(c => c.Code, c => c.Name, ct);
                return TypedResults.Ok(raised.Select(a => CauseAlertView.From(a, names.GetValueOrDefault(a.Cause))).ToList());
            })
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
        actions.MapGet("/", async Task<IResult> (HttpContext http, CloseloopDb db, TimeProvider time, string? cause, string? status, CancellationToken ct) =>
            {
                status = string.IsNullOrWhiteSpace(status) ? null : status.Trim().ToLowerInvariant();
                if (status is not null && !ImprovementStatus.All.Contains(status))
                {
                    return Problems.Validation("status", $"must be one of {string.Join(", ", ImprovementStatus.All)}");
                }
                var query = CauseWork.Visible(db.ImprovementActions.AsNoTracking(), http.User);
                query = string.IsNullOrWhiteSpace(cause) ? query : query.Where(a => a.Cause == cause.Trim().ToLower());
                query = status is null ? query : query.Where(a => a.Status == status);
                var now = time.GetUtcNow();
                return TypedResults.Ok((await query.OrderByDescending(a => a.CreatedAt).Take(1000).ToListAsync(ct)).Select(a => ImprovementActionView.From(a, now)).ToList());
            })
            .RequireAuthorization(Policies.ReadCauses)
            .WithName("ListImprovementActions").WithSummary("Improvement actions, newest first; filter by cause or status.");

        actions.MapGet("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var action = await CauseWork.Visible(db.ImprovementActions.AsNoTracking(), http.User).FirstOrDefaultAsync(a => a.Id == id, ct);
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
                var (document, problem) = await JsonBody.ReadObjectAsync(http.Request, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var body = document!.RootElement;
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var fields = new JsonFields(body, errors);
                    var input = new ImprovementInput(fields.Text("cause"), fields.Text("title", max: 1000), fields.Text("owner", max: 1000), fields.Text("description", max: 10_000),
                        fields.Text("message", max: 10_000), fields.Text("dueAt"), fields.Number("causeAlertId"), fields.Text("evidenceFrom"), fields.Text("evidenceTo"));
                    var now = time.GetUtcNow();
                    var (action, invalid) = await CauseWork.CreateActionAsync(db, http.User, input, now, ct);
                    foreach (var (field, messages) in invalid)
                    {
                        errors.TryAdd(field, messages);
                    }
                    return errors.Count > 0 || action is null
                        ? Problems.Validation(errors)
                        : TypedResults.Created($"/api/v1/improvement-actions/{action.Id}", ImprovementActionView.From(action, now));
                }
            })
            .RequireAuthorization(Policies.WorkCauses)
            .WithName("CreateImprovementAction")
            .WithSummary("A fix for a cause: cause, title, owner, optional dueAt, description, message (what customers are told), causeAlertId, evidenceFrom/evidenceTo.");

        actions.MapPost("/{id:long}/status", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, ImprovementShipping shipping, CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadObjectAsync(http.Request, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var input = new JsonFields(document!.RootElement, errors);
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
                    var (action, result, conflict) = await CauseWork.ChangeStatusAsync(db, shipping, http.User, id, status!, message, time.GetUtcNow(), ct);
                    return action is null ? TypedResults.NotFound()
                        : conflict is not null ? Problems.Conflict(conflict)
                        : TypedResults.Ok(new { action = ImprovementActionView.From(action, time.GetUtcNow()), customersTold = result?.Told ?? 0, skipped = result?.SkippedBecause ?? new Dictionary<string, long>() });
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
                if (next.Type.StartsWith("cause_alert.", StringComparison.Ordinal) && CauseWork.MaySee(user, next.Owner["department:".Length..]))
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
}
