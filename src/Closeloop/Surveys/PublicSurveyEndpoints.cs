using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using Closeloop.Contacts;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Web;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Surveys;

/// <summary>
/// The customer's side of a survey: the page at /s/{token} (a Razor Page) and the answers it posts here. Both are
/// anonymous: the unguessable single-use token is the only credential, so it is also what protects the post
/// from cross-site forgery (a page on another site that knows the token could as well post it itself; one that
/// does not know it cannot forge anything). There is no cookie to ride on, so an anti-forgery cookie adds nothing.
/// </summary>
public static class PublicSurveyEndpoints
{
    public const string RateLimit = "public-survey";

    /// <summary>Per client address, so that nobody can guess tokens fast or flood the ingest from the open internet.</summary>
    public static IServiceCollection AddPublicSurveyLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            var permits = int.TryParse(configuration["Surveys:PublicRequestsPerMinute"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : 60;
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // A body of its own, so the console's status-code pages (which would ask an anonymous customer to sign in) stay out of it.
            options.OnRejected = async (context, ct) =>
            {
                var response = context.HttpContext.Response;
                response.Headers.RetryAfter = "60";
                NoStore(response);
                if (context.HttpContext.Request.Path.Value?.EndsWith("/answers", StringComparison.Ordinal) == true)
                {
                    await response.WriteAsJsonAsync(new { title = "Too many requests", status = 429, detail = "Please wait a minute and send again." },
                        (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", ct);
                }
                else
                {
                    response.ContentType = "text/html; charset=utf-8";
                    await response.WriteAsync("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
                        "<title>Please wait</title></head><body><h1>Please wait a minute</h1><p>There were too many requests from your connection. Please try again in a minute.</p></body></html>", ct);
                }
            };
            options.AddPolicy(RateLimit, http => RateLimitPartition.GetFixedWindowLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "local",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
        return services;
    }

    public static IEndpointRouteBuilder MapPublicSurveys(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/s/{token}/answers", async (string token, HttpContext http, CloseloopDb db, IngestWriter writer, IngestPipeline pipeline, TimeProvider time) =>
            {
                NoStore(http.Response);
                var (document, problem) = await JsonBody.ReadAsync(http.Request, 64 * 1024, http.RequestAborted);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    return await SurveySubmission.SubmitAsync(db, writer, pipeline, time, token, document!.RootElement, http.RequestAborted);
                }
            })
            .AllowAnonymous()
            .RequireRateLimiting(RateLimit)
            .ExcludeFromDescription()
            .WithName("AnswerSurvey")
            .WithSummary("The public survey page posts the customer's answers here; the token is the credential.");
        return routes;
    }

    /// <summary>Nothing on the survey page or its answers is for a cache or for the next site the customer visits.</summary>
    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers["X-Robots-Tag"] = "noindex, nofollow";
    }
}

/// <summary>Answers to an invitation, checked against its survey and saved as a response through the ingest writer, once.</summary>
public static class SurveySubmission
{
    /// <summary>
    /// The response's external id is derived from the token, so a double submit, or a retry after a crash between
    /// saving the response and marking the invitation, is recognised by the writer and never counted twice.
    /// </summary>
    public static string ExternalId(string token) =>
        "inv-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)).AsSpan(0, 16));

    public static async Task<IResult> SubmitAsync(CloseloopDb db, IngestWriter writer, IngestPipeline pipeline, TimeProvider time, string token, JsonElement body, CancellationToken ct)
    {
        var invitation = await db.SurveyInvitations.AsNoTracking().FirstOrDefaultAsync(i => i.Token == token, ct);
        if (invitation is null)
        {
            return Problems.Status(StatusCodes.Status404NotFound, "Unknown survey link", "This survey link is not valid.");
        }
        switch (invitation.StateAt(time.GetUtcNow()))
        {
            case InvitationState.Answered:
                return AlreadyAnswered();
            case InvitationState.Expired:
                return Problems.Status(StatusCodes.Status410Gone, "Survey expired", "This survey has closed.");
        }
        var survey = await ResolvedSurvey.ForAsync(db, invitation.SurveyId, invitation.Metric, ct);
        var errors = new FieldErrors();
        var answers = ReadAnswers(body, survey.Shape, errors, out var score, out var comment, out var others);
        if (!answers)
        {
            return Problems.Validation(errors.ToDictionary());
        }

        var customer = await db.Customers.Where(c => c.Id == invitation.CustomerId).Select(c => c.ExternalId).FirstOrDefaultAsync(ct);
        if (customer is null)
        {
            // The customer's data was erased after the invitation went out.
            return Problems.Status(StatusCodes.Status410Gone, "Survey closed", "This survey has closed.");
        }
        string? contact = invitation.ContactId is { } contactId
            ? await db.Contacts.Where(c => c.Id == contactId).Select(c => c.ExternalId).FirstOrDefaultAsync(ct)
            : null;
        // Without a contact, a follow-up after an alert belongs where the alert did, and another invitation to its site.
        string? site = null, team = null, agent = null;
        if (contact is null && invitation.AlertId is { } alertId)
        {
            var org = await db.Alerts.Where(a => a.Id == alertId).Select(a => new
            {
                Site = db.Sites.Where(s => s.Id == a.SiteId).Select(s => s.Code).FirstOrDefault(),
                Team = db.Teams.Where(t => t.Id == a.TeamId).Select(t => t.Code).FirstOrDefault(),
                Agent = db.Agents.Where(x => x.Id == a.AgentId).Select(x => x.Code).FirstOrDefault(),
            }).FirstOrDefaultAsync(ct);
            (site, team, agent) = (org?.Site, org?.Team, org?.Agent);
        }
        else if (contact is null && invitation.SiteId is { } siteId)
        {
            site = await db.Sites.Where(s => s.Id == siteId).Select(s => s.Code).FirstOrDefaultAsync(ct);
        }
        // The ingest parser checks the record exactly as it checks one posted to /api/v1/responses.
        var record = JsonSerializer.SerializeToElement(new
        {
            externalId = ExternalId(token),
            customer = new { externalId = customer },
            metric = invitation.Metric,
            score,
            comment,
            contactExternalId = contact,
            site,
            team,
            agent,
            channel = contact is null ? Channels.Normalize(invitation.Channel) ?? "web_form" : null,
        });
        var input = IngestParser.ParseResponse(record, errors);
        if (input is null || errors.Any)
        {
            // Name the fields as the page sent them, not as the response record calls them.
            return Problems.Validation(errors.ToDictionary().ToDictionary(
                e => e.Key switch { "score" => $"answers.{survey.Shape.ScoreQuestion}", "comment" => $"answers.{survey.Shape.CommentQuestion}", _ => e.Key },
                e => e.Value));
        }
        var outcome = (await writer.WriteAsync([new ResponseItem(input, pipeline.AnalyzeComment(input.Comment))], WriteScope.Unrestricted, ct))[0];
        switch (outcome.Status)
        {
            case IngestStatus.Conflict:
                // A concurrent submit with other answers won: the invitation is answered.
                return AlreadyAnswered();
            case IngestStatus.Invalid:
                return Problems.Validation(outcome.Errors!);
        }
        var now = time.GetUtcNow();
        var othersJson = others.Count == 0 ? null : JsonSerializer.Serialize(others);
        await db.SurveyInvitations.Where(i => i.Id == invitation.Id && i.AnsweredAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(i => i.AnsweredAt, now).SetProperty(i => i.ResponseId, outcome.Id).SetProperty(i => i.Answers, othersJson), ct);
        return TypedResults.Ok(new { status = "answered" });
    }

    private static IResult AlreadyAnswered() =>
        Problems.Status(StatusCodes.Status410Gone, "Already answered", "This survey has already been answered. Thank you!");

    /// <summary>
    /// The score must be a whole number on the metric's scale and the comment text within its length; other answers
    /// must belong to questions of the survey (SurveyJS adds "name-Comment" for an "other" text).
    /// </summary>
    private static bool ReadAnswers(JsonElement body, SurveyShape shape, FieldErrors errors, out int? score, out string? comment, out Dictionary<string, JsonElement> others)
    {
        score = null;
        comment = null;
        others = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("answers", out var answers) || answers.ValueKind != JsonValueKind.Object)
        {
            errors.Add("answers", "must be an object of answers by question name");
            return false;
        }
        foreach (var answer in answers.EnumerateObject())
        {
            var name = answer.Name;
            if (name == shape.ScoreQuestion)
            {
                if (answer.Value.ValueKind == JsonValueKind.Number && answer.Value.TryGetInt32(out var s) && s >= shape.Min && s <= shape.Max)
                {
                    score = s;
                }
                else
                {
                    errors.Add($"answers.{name}", $"must be a whole number from {shape.Min} to {shape.Max}");
                }
            }
            else if (name == shape.CommentQuestion)
            {
                if (answer.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }
                if (answer.Value.ValueKind != JsonValueKind.String)
                {
                    errors.Add($"answers.{name}", "must be text");
                }
                else if (answer.Value.GetString()!.Length > shape.CommentMaxLength)
                {
                    errors.Add($"answers.{name}", $"must be at most {shape.CommentMaxLength} characters");
                }
                else
                {
                    comment = answer.Value.GetString();
                }
            }
            else if (shape.Questions.Contains(name) || (name.EndsWith("-Comment", StringComparison.Ordinal) && shape.Questions.Contains(name[..^"-Comment".Length])))
            {
                others[name] = answer.Value.Clone();
            }
            else
            {
                errors.Add($"answers.{name}", "is not a question of this survey");
            }
        }
        if (score is null && !errors.Any)
        {
            errors.Add($"answers.{shape.ScoreQuestion}", $"is required: a whole number from {shape.Min} to {shape.Max}");
        }
        return !errors.Any;
    }
}
