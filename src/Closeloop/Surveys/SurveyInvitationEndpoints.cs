using System.Text.Json;
using Closeloop.Data;
using Closeloop.Responses;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Surveys;

public sealed record InvitationCreated(string Token, string Link, string Metric, DateTimeOffset ExpiresAt);

public static class SurveyInvitationEndpoints
{
    public static IEndpointRouteBuilder MapSurveyInvitations(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/v1/survey-invitations", async Task<IResult> (HttpContext http, CloseloopDb db, TimeProvider time, IConfiguration configuration, CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    var body = document!.RootElement;
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    string? customerId = null;
                    if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("customer", out var c))
                    {
                        customerId = c.ValueKind == JsonValueKind.String ? c.GetString()
                            : c.ValueKind == JsonValueKind.Object && c.TryGetProperty("externalId", out var x) && x.ValueKind == JsonValueKind.String ? x.GetString() : null;
                    }
                    if (string.IsNullOrWhiteSpace(customerId))
                    {
                        errors["customer"] = ["is required: {\"externalId\": \"...\"}"];
                    }
                    var metric = Text(body, "metric", errors)?.ToLowerInvariant();
                    if (metric is not null && !MetricScales.IsKnown(metric))
                    {
                        errors["metric"] = ["must be one of csat, nps, ces"];
                    }
                    var contactExternalId = Text(body, "contactExternalId", errors);
                    long? surveyId = null;
                    if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("surveyId", out var s) && s.ValueKind != JsonValueKind.Null)
                    {
                        // The invitation is scored on its survey's metric, so the score always fits the scale the page shows.
                        var wanted = s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var id) ? id : (long?)null;
                        var survey = wanted is null ? null : await db.Surveys.AsNoTracking().Where(x => x.Id == wanted).Select(x => new { x.Id, x.Metric }).FirstOrDefaultAsync(ct);
                        if (wanted is null)
                        {
                            errors["surveyId"] = ["must be a whole number: a survey's id"];
                        }
                        else if (survey is null)
                        {
                            errors["surveyId"] = ["no survey with this id"];
                        }
                        else if (metric is not null && metric != survey.Metric)
                        {
                            errors["metric"] = [$"the survey measures {survey.Metric}"];
                        }
                        else
                        {
                            surveyId = survey.Id;
                            metric = survey.Metric;
                        }
                    }
                    metric ??= MetricScales.Csat;
                    var expiresIn = TimeSpan.FromDays(14);
                    if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("expiresIn", out var given) && given.ValueKind != JsonValueKind.Null)
                    {
                        // A link that is dead on arrival would still count against the customer's fatigue window.
                        if (given.ValueKind != JsonValueKind.String)
                        {
                            errors["expiresIn"] = ["must be an ISO 8601 duration such as P7D"];
                        }
                        // The same reading of ISO 8601 as a rule's deadline: P2W and PT1.5H too.
                        else if (!Alerts.AlertRuleDefinition.TryDuration(given.GetString()!, out expiresIn))
                        {
                            errors["expiresIn"] = ["must be an ISO 8601 duration such as P7D"];
                        }
                        else if (expiresIn <= TimeSpan.Zero || expiresIn > TimeSpan.FromDays(366))
                        {
                            errors["expiresIn"] = ["must be a positive duration of at most P366D"];
                        }
                    }
                    if (errors.Count > 0)
                    {
                        return Problems.Validation(errors);
                    }
                    var scope = CallerScope.From(http.User);
                    var customer = await Customers.CustomerEndpoints.VisibleCustomerAsync(db, scope, customerId!, ct);
                    if (customer is null)
                    {
                        return Problems.Validation("customer", "no customer with this externalId");
                    }
                    long? contactId = null;
                    string? queue = null;
                    long? siteId = scope.SiteId;
                    if (contactExternalId is not null)
                    {
                        var contact = await db.Contacts.Where(x => x.ExternalId == contactExternalId && x.CustomerId == customer.Id && (scope.SiteId == null || x.SiteId == scope.SiteId))
                            .Select(x => new { x.Id, x.Queue, x.SiteId }).FirstOrDefaultAsync(ct);
                        if (contact is null)
                        {
                            return Problems.Validation("contactExternalId", "no contact of this customer with this externalId");
                        }
                        (contactId, queue, siteId) = (contact.Id, contact.Queue, contact.SiteId);
                    }
                    // Not about a contact: the answer belongs to the inviting key's site, or else to the site the
                    // customer last dealt with, so that it is seen and measured there like any other response.
                    siteId ??= await db.Contacts.Where(x => x.CustomerId == customer.Id).OrderByDescending(x => x.OccurredAt).Select(x => (long?)x.SiteId).FirstOrDefaultAsync(ct)
                        ?? await db.Responses.Where(x => x.CustomerId == customer.Id).OrderByDescending(x => x.RespondedAt).Select(x => (long?)x.SiteId).FirstOrDefaultAsync(ct);
                    var now = time.GetUtcNow();
                    // One invitation at a time per customer: the fatigue rules read the invitations already made, so
                    // two concurrent requests must not both read "none yet" (a write lock on SQLite, where a
                    // transaction begins immediate; the customer's row lock on PostgreSQL).
                    await using var transaction = await db.Database.BeginTransactionAsync(ct);
                    await db.Customers.Where(x => x.Id == customer.Id).ExecuteUpdateAsync(u => u.SetProperty(x => x.Tier, x => x.Tier), ct);
                    if (await SurveyFatigue.ReasonNotToInviteAsync(db, configuration, customer, contactExternalId, queue, now, ct) is { } reason)
                    {
                        // Not an error of the request: the customer is not to be surveyed now, and the reason says why.
                        return TypedResults.Problem(SurveyFatigue.Explain(reason), statusCode: StatusCodes.Status409Conflict, title: "Not invited",
                            type: "https://closeloop.dev/problems/survey-fatigue", extensions: new Dictionary<string, object?> { ["reason"] = reason });
                    }
                    var invitation = new SurveyInvitation
                    {
                        Token = SurveyInvitation.NewToken(),
                        CustomerId = customer.Id,
                        ContactId = contactId,
                        SurveyId = surveyId,
                        SiteId = siteId,
                        Metric = metric,
                        CreatedAt = now,
                        ExpiresAt = now + expiresIn,
                    };
                    db.SurveyInvitations.Add(invitation);
                    await db.SaveChangesAsync(ct);
                    await transaction.CommitAsync(ct);
                    var link = $"/s/{invitation.Token}";
                    return TypedResults.Created(link, new InvitationCreated(invitation.Token, link, metric, invitation.ExpiresAt));
                }
            })
            .WithTags("Surveys")
            .RequireAuthorization(Policies.Write)
            .Accepts<System.Text.Json.Nodes.JsonObject>("application/json")
            .Produces<InvitationCreated>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithName("CreateSurveyInvitation")
            .WithSummary("Create a single-use survey invitation for a customer (and optionally a contact), answering with its token and link /s/{token}; 409 with a reason when fatigue rules hold the customer back.");
        return routes;
    }

    /// <summary>A text field, absent or null as null; any other JSON type is named in <paramref name="errors"/> rather than ignored.</summary>
    private static string? Text(JsonElement body, string name, Dictionary<string, string[]> errors)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            errors[name] = ["must be a string"];
            return null;
        }
        return value.GetString();
    }
}
