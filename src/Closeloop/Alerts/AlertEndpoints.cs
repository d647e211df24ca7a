using System.Text.Json;
using System.Text.Json.Nodes;
using Closeloop.Data;
using Closeloop.Live;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Alerts;

public static class AlertEndpoints
{
    public static IEndpointRouteBuilder MapAlerts(this IEndpointRouteBuilder routes)
    {
        var rules = routes.MapGroup("/api/v1/alert-rules").WithTags("Alert rules");
        rules.MapGet("/", async (CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok((await db.AlertRules.AsNoTracking().Where(r => r.DeletedAt == null).OrderBy(r => r.Id).ToListAsync(ct)).Select(RuleView)))
            .WithName("ListAlertRules").WithSummary("Every alert rule, enabled or not.");
        rules.MapGet("/{id:long}", async Task<IResult> (long id, CloseloopDb db, CancellationToken ct) =>
                await db.AlertRules.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null, ct) is { } rule ? TypedResults.Ok(RuleView(rule)) : TypedResults.NotFound())
            .WithName("GetAlertRule").WithSummary("One alert rule.");
        rules.MapPost("/", (HttpContext http, CloseloopDb db, TimeProvider time, AlertRuleCache cache) => SaveRuleAsync(http, db, time, cache, null))
            .RequireAuthorization(Policies.Admin)
            .Accepts<JsonObject>("application/json")
            .WithName("CreateAlertRule").WithSummary("Create a rule: a condition (all/any/not of field comparisons), an owner, an ISO 8601 deadline, a clock and an escalation chain.");
        rules.MapPut("/{id:long}", (long id, HttpContext http, CloseloopDb db, TimeProvider time, AlertRuleCache cache) => SaveRuleAsync(http, db, time, cache, id))
            .RequireAuthorization(Policies.Admin)
            .Accepts<JsonObject>("application/json")
            .WithName("UpdateAlertRule").WithSummary("Replace a rule; alerts it already raised keep their deadlines.");
        rules.MapDelete("/{id:long}", async Task<Results<NoContent, NotFound>> (long id, CloseloopDb db, TimeProvider time, AlertRuleCache cache, CancellationToken ct) =>
                await AlertRuleStore.DeleteAsync(db, id, time.GetUtcNow(), cache, ct) ? TypedResults.NoContent() : TypedResults.NotFound())
            .RequireAuthorization(Policies.Admin)
            .WithName("DeleteAlertRule").WithSummary("Delete a rule; it stops matching at once.");
        rules.MapPost("/preview", async Task<IResult> (HttpContext http, CloseloopDb db, TimeProvider time) =>
            {
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, http.RequestAborted);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var definition = AlertRuleDefinition.Parse(document!.RootElement, errors);
                    return definition is null
                        ? Problems.Validation(errors)
                        : TypedResults.Ok(await AlertRulePreview.RunAsync(db, definition, time.GetUtcNow(), http.RequestAborted));
                }
            })
            .RequireAuthorization(Policies.Admin)
            .Accepts<JsonObject>("application/json")
            .Produces<RulePreview>()
            .ProducesValidationProblem()
            .WithName("PreviewAlertRule")
            .WithSummary("Evaluate a rule (as it would be saved) against the responses of the last 7 days: how many it would have matched, of how many, and a few examples.");

        var alerts = routes.MapGroup("/api/v1/alerts").WithTags("Alerts");
        alerts.MapGet("/", async (HttpContext http, CloseloopDb db, string? status, string? site, string? owner, string? team, long? rule, string? customer, long? cursor, int? limit, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var query = AlertViews.Visible(db, scope);
                if (status is not null)
                {
                    var statuses = status.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => s.ToLowerInvariant()).ToArray();
                    if (statuses.Any(s => !AlertStatus.All.Contains(s) && s != "active"))
                    {
                        return Problems.Validation("status", $"must be one or more of {string.Join(", ", AlertStatus.All)}, or active");
                    }
                    if (statuses.Contains("active"))
                    {
                        statuses = [.. statuses.Where(s => s != "active"), .. AlertStatus.Active];
                    }
                    query = query.Where(a => statuses.Contains(a.Status));
                }
                if (site is not null)
                {
                    var code = site.ToLowerInvariant();
                    query = query.Where(a => db.Sites.Any(s => s.Id == a.SiteId && s.Code == code));
                }
                if (team is not null)
                {
                    var code = team.ToLowerInvariant();
                    query = query.Where(a => db.Teams.Any(t => t.Id == a.TeamId && t.Code == code));
                }
                if (owner is not null)
                {
                    var who = owner.ToLowerInvariant();
                    query = query.Where(a => a.Owner == who);
                }
                if (rule is not null)
                {
                    query = query.Where(a => a.RuleId == rule);
                }
                if (customer is not null)
                {
                    query = query.Where(a => db.Customers.Any(c => c.Id == a.CustomerId && c.ExternalId == customer));
                }
                if (cursor is not null)
                {
                    query = query.Where(a => a.Id < cursor);
                }
                var size = Math.Clamp(limit ?? 50, 1, 500);
                var items = await AlertViews.ProjectAsync(db, query.OrderByDescending(a => a.Id).Take(size + 1), false, ct);
                var page = items.Take(size).ToList();
                return TypedResults.Ok(new AlertPage(page, items.Count > size ? page[^1].Id : null));
            })
            .RequireAuthorization(Policies.ReadRecords)
            .Produces<AlertPage>()
            .WithName("ListAlerts").WithSummary("Alerts the caller may see, newest first; filter by status (or active), site, team, owner, rule and customer (external id).");

        alerts.MapGet("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                (await AlertViews.ProjectAsync(db, AlertViews.Visible(db, CallerScope.From(http.User)).Where(a => a.Id == id), true, ct)).FirstOrDefault() is { } view
                    ? TypedResults.Ok(view) : TypedResults.NotFound())
            .RequireAuthorization(Policies.ReadRecords)
            .Produces<AlertView>()
            .WithName("GetAlert").WithSummary("One alert with its action log.");

        alerts.MapPost("/{id:long}/actions", async Task<IResult> (long id, HttpContext http, CloseloopDb db, AlertActions actions, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                if (!await AlertViews.Visible(db, scope).AnyAsync(a => a.Id == id, ct))
                {
                    return TypedResults.NotFound();
                }
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    if (document!.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        return Problems.Validation("body", "must be a JSON object such as {\"type\": \"acknowledge\"}");
                    }
                    var alert = await db.Alerts.FirstAsync(a => a.Id == id, ct);
                    try
                    {
                        await actions.ApplyAsync(db, alert, document.RootElement, scope, ct);
                    }
                    catch (AlertActionException ex) when (ex.Status == 400)
                    {
                        return Problems.Validation(ex.Field, ex.Message);
                    }
                    catch (AlertActionException ex)
                    {
                        return Problems.Status(ex.Status, "Not allowed", ex.Message);
                    }
                    catch (AlertTransitionException ex)
                    {
                        return Problems.Conflict(ex.Message);
                    }
                }
                var view = (await AlertViews.ProjectAsync(db, db.Alerts.AsNoTracking().Where(a => a.Id == id), true, ct)).First();
                return TypedResults.Ok(view);
            })
            .RequireAuthorization(Policies.WorkAlerts)
            .Produces<AlertView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("RecordAlertAction")
            .WithSummary("Record a recovery step: acknowledge, note, contact_attempted, customer_reached, callback_scheduled, gesture_offered, wait_on_customer, root_cause_tagged, resolve (rootCause and outcome), close, reopen, reassign.");

        alerts.MapGet("/stream", async (HttpContext http, AlertEventHub hub, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                http.Response.Headers.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                http.Response.Headers["X-Accel-Buffering"] = "no";
                var reader = hub.Subscribe(out var unsubscribe);
                try
                {
                    await http.Response.WriteAsync(": connected\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    while (!ct.IsCancellationRequested)
                    {
                        using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        heartbeat.CancelAfter(TimeSpan.FromSeconds(15));
                        AlertEvent next;
                        try
                        {
                            next = await reader.ReadAsync(heartbeat.Token);
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                            await http.Response.WriteAsync(": keep-alive\n\n", ct);
                            await http.Response.Body.FlushAsync(ct);
                            continue;
                        }
                        // Cause alerts share the hub but have their own stream (/api/v1/cause-alerts/stream).
                        if (next.Type.StartsWith("cause_alert.", StringComparison.Ordinal) || !scope.CanSeeSite(next.SiteId) || (scope.Role == Roles.Recovery && scope.UserEmail is { } me && next.Owner != me))
                        {
                            continue;
                        }
                        await http.Response.WriteAsync($"id: {next.AlertId}\nevent: {next.Type}\ndata: {JsonSerializer.Serialize(next, JsonSerializerOptions.Web)}\n\n", ct);
                        await http.Response.Body.FlushAsync(ct);
                    }
                }
                catch (OperationCanceledException)
                {
                    // The client went away.
                }
                finally
                {
                    unsubscribe();
                }
            })
            .RequireAuthorization(Policies.ReadRecords)
            .WithName("StreamAlertEvents").WithSummary("Server-Sent Events: every alert created, changed or escalated that the caller may see, as it happens.");
        return routes;
    }

    private static object RuleView(AlertRule rule)
    {
        var json = JsonNode.Parse(rule.Definition)!.AsObject();
        json["id"] = rule.Id;
        json["enabled"] = rule.Enabled;
        json["createdAt"] = rule.CreatedAt;
        json["updatedAt"] = rule.UpdatedAt;
        return json;
    }

    private static async Task<IResult> SaveRuleAsync(HttpContext http, CloseloopDb db, TimeProvider time, AlertRuleCache cache, long? id)
    {
        var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }
        using (document)
        {
            var saved = await AlertRuleStore.SaveAsync(db, document!.RootElement, id, time.GetUtcNow(), cache, http.RequestAborted);
            if (saved.Errors is not null)
            {
                return Problems.Validation(saved.Errors);
            }
            if (saved.Rule is not { } rule)
            {
                return TypedResults.NotFound();
            }
            return id is null ? TypedResults.Created($"/api/v1/alert-rules/{rule.Id}", RuleView(rule)) : TypedResults.Ok(RuleView(rule));
        }
    }
}
