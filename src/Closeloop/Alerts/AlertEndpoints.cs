using System.Text.Json;
using System.Text.Json.Nodes;
using Closeloop.Data;
using Closeloop.Live;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.OpenApi;

namespace Closeloop.Alerts;

public static class AlertEndpoints
{
    /// <summary>
    /// A rule names sites, people and words of the company's other sites; a site-scoped caller (a vendor) sees only the
    /// rules that raised alerts at its own site, which are the ones its inbox can filter by.
    /// </summary>
    public static IQueryable<AlertRule> VisibleRules(CloseloopDb db, CallerScope scope) =>
        db.AlertRules.AsNoTracking().Where(r => r.DeletedAt == null && (scope.SiteId == null || db.Alerts.Any(a => a.RuleId == r.Id && a.SiteId == scope.SiteId)));

    public static IEndpointRouteBuilder MapAlerts(this IEndpointRouteBuilder routes)
    {
        var rules = routes.MapGroup("/api/v1/alert-rules").WithTags("Alert rules");
        rules.MapGet("/", async (HttpContext http, CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok((await VisibleRules(db, CallerScope.From(http.User)).OrderBy(r => r.Id).ToListAsync(ct)).Select(RuleView)))
            .WithName("ListAlertRules").WithSummary("Every alert rule, enabled or not (for a site-scoped caller, those that raised alerts at its site).");
        rules.MapGet("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await VisibleRules(db, CallerScope.From(http.User)).FirstOrDefaultAsync(r => r.Id == id, ct) is { } rule ? TypedResults.Ok(RuleView(rule)) : TypedResults.NotFound())
            .WithName("GetAlertRule").WithSummary("One alert rule.");
        rules.MapPost("/", (HttpContext http, CloseloopDb db, TimeProvider time, AlertRuleCache cache) => SaveRuleAsync(http, db, time, cache, null))
            .RequireAuthorization(Policies.Admin)
            .Accepts<JsonObject>("application/json")
            .Produces<JsonObject>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithName("CreateAlertRule").WithSummary("Create a rule: a condition (all/any/not of field comparisons), an owner, an ISO 8601 deadline, a clock and an escalation chain.");
        rules.MapPut("/{id:long}", (long id, HttpContext http, CloseloopDb db, TimeProvider time, AlertRuleCache cache) => SaveRuleAsync(http, db, time, cache, id))
            .RequireAuthorization(Policies.Admin)
            .Accepts<JsonObject>("application/json")
            .Produces<JsonObject>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
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
        // The query is read as text: an empty parameter (?rule=, what a form with blank fields sends) means no filter,
        // where binding "" to a number would refuse it.
        alerts.MapGet("/", async Task<IResult> (HttpContext http, CloseloopDb db, string? status, string? site, string? owner, string? team, string? rule, string? customer,
                string? cursor, string? limit, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var query = AlertViews.Visible(db, scope);
                var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                var ruleId = WholeNumber(rule, "rule", errors);
                var before = WholeNumber(cursor, "cursor", errors);
                var size = WholeNumber(limit, "limit", errors) ?? 50;
                if (Given(status) is { } statusList)
                {
                    var statuses = statusList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(s => s.ToLowerInvariant()).ToArray();
                    if (statuses.Any(s => !AlertStatus.All.Contains(s) && s != "active"))
                    {
                        errors["status"] = [$"must be one or more of {string.Join(", ", AlertStatus.All)}, or active"];
                    }
                    if (statuses.Contains("active"))
                    {
                        statuses = [.. statuses.Where(s => s != "active"), .. AlertStatus.Active];
                    }
                    if (statuses.Length > 0)
                    {
                        query = query.Where(a => statuses.Contains(a.Status));
                    }
                }
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                if (Given(site) is { } siteCode)
                {
                    var code = siteCode.ToLowerInvariant();
                    query = query.Where(a => db.Sites.Any(s => s.Id == a.SiteId && s.Code == code));
                }
                if (Given(team) is { } teamCode)
                {
                    var code = teamCode.ToLowerInvariant();
                    query = query.Where(a => db.Teams.Any(t => t.Id == a.TeamId && t.Code == code));
                }
                if (Given(owner) is { } ownerName)
                {
                    var who = ownerName.ToLowerInvariant();
                    query = query.Where(a => a.Owner == who);
                }
                if (ruleId is not null)
                {
                    query = query.Where(a => a.RuleId == ruleId);
                }
                // An external id is matched as it is written (it may hold any character), once it is not blank.
                if (Given(customer) is not null)
                {
                    query = query.Where(a => db.Customers.Any(c => c.Id == a.CustomerId && c.ExternalId == customer));
                }
                if (before is not null)
                {
                    query = query.Where(a => a.Id < before);
                }
                var take = (int)Math.Clamp(size, 1, 500);
                var items = await AlertViews.ProjectAsync(db, query.OrderByDescending(a => a.Id).Take(take + 1), false, ct);
                var page = items.Take(take).ToList();
                return TypedResults.Ok(new AlertPage(page, items.Count > take ? page[^1].Id : null));
            })
            .RequireAuthorization(Policies.ReadRecords)
            .Produces<AlertPage>()
            .ProducesValidationProblem()
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                // Read as text (see above), but numbers all the same.
                foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
                {
                    if (parameter.Name is "rule" or "cursor" or "limit")
                    {
                        parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = parameter.Name == "limit" ? "int32" : "int64" };
                    }
                }
                return Task.CompletedTask;
            })
            .WithName("ListAlerts").WithSummary("Alerts the caller may see, newest first; filter by status (or active), site, team, owner, rule and customer (external id). An empty parameter is no filter.");

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
                        return Problems.Validation(ex.Errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal));
                    }
                    catch (AlertActionException ex)
                    {
                        return Problems.Status(ex.Status, "Not allowed", ex.Message);
                    }
                    catch (AlertTransitionException ex) when (ex.ActiveAlertId is { } active)
                    {
                        // The alert in the way is named by id, so a client can go straight to it.
                        return TypedResults.Problem(detail: ex.Message, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: "https://closeloop.dev/problems/conflict",
                            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["activeAlertId"] = active });
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
            .Accepts<JsonObject>("application/json")
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

    /// <summary>A query value that filters: null for a missing or blank one.</summary>
    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static long? WholeNumber(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (Given(value) is not { } text)
        {
            return null;
        }
        if (long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }
        errors[name] = [$"must be a whole number, not '{value}'"];
        return null;
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
