using System.Text.Json;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Responses;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Surveys;

public sealed record SurveyView(long Id, string Name, string Metric, bool IsDefault, JsonElement Definition, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? UpdatedBy)
{
    public static SurveyView From(SurveyDefinition s)
    {
        using var document = JsonDocument.Parse(s.Definition);
        return new SurveyView(s.Id, s.Name, s.Metric, s.IsDefault, document.RootElement.Clone(), s.CreatedAt, s.UpdatedAt, s.UpdatedBy);
    }
}

/// <summary>The fields of a survey as an admin sends them, checked with every bad field named.</summary>
public sealed record SurveyInput(string Name, string Metric, string Definition, bool IsDefault)
{
    public static SurveyInput? Parse(JsonElement body, FieldErrors errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add("body", "must be a JSON object with name, metric and definition");
            return null;
        }
        string? name = body.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : null;
        if (string.IsNullOrEmpty(name) || name.Length > SurveyRules.MaxNameLength)
        {
            errors.Add("name", $"is required (at most {SurveyRules.MaxNameLength} characters)");
        }
        string? metric = body.TryGetProperty("metric", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()!.Trim().ToLowerInvariant() : null;
        if (metric is null || !MetricScales.IsKnown(metric))
        {
            errors.Add("metric", "must be one of csat, nps, ces");
            metric = null;
        }
        var isDefault = false;
        if (body.TryGetProperty("isDefault", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            if (d.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                isDefault = d.GetBoolean();
            }
            else
            {
                errors.Add("isDefault", "must be true or false");
            }
        }
        if (!body.TryGetProperty("definition", out var definition) || definition.ValueKind == JsonValueKind.Null)
        {
            errors.Add("definition", "is required: the survey as SurveyJS JSON");
            return null;
        }
        var text = definition.GetRawText();
        if (text.Length > SurveyRules.MaxDefinitionLength)
        {
            errors.Add("definition", $"must be at most {SurveyRules.MaxDefinitionLength / 1024} KB");
            return null;
        }
        if (metric is not null)
        {
            SurveyRules.Validate(metric, definition, errors);
        }
        return errors.Any ? null : new SurveyInput(name!, metric!, text, isDefault);
    }

    /// <summary>Writes the survey; making it the default takes that role from the metric's previous default in the same transaction.</summary>
    public async Task<SurveyDefinition?> SaveAsync(CloseloopDb db, long? id, string? by, DateTimeOffset now, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        SurveyDefinition? survey;
        if (id is null)
        {
            survey = new SurveyDefinition { Name = Name, Metric = Metric, Definition = Definition, CreatedAt = now };
            db.Surveys.Add(survey);
        }
        else
        {
            survey = await db.Surveys.FirstOrDefaultAsync(s => s.Id == id, ct);
            if (survey is null)
            {
                return null;
            }
            survey.Name = Name;
            survey.Metric = Metric;
            survey.Definition = Definition;
        }
        if (IsDefault)
        {
            var self = id ?? 0;
            await db.Surveys.Where(s => s.Metric == Metric && s.IsDefault && s.Id != self).ExecuteUpdateAsync(u => u.SetProperty(s => s.IsDefault, false), ct);
        }
        survey.IsDefault = IsDefault;
        survey.UpdatedAt = now;
        survey.UpdatedBy = by;
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return survey;
    }
}

public static class SurveyEndpoints
{
    public static IEndpointRouteBuilder MapSurveys(this IEndpointRouteBuilder routes)
    {
        // Reading a definition tells nothing about customers, so any caller may; changing one is for admins.
        var surveys = routes.MapGroup("/api/v1/surveys").WithTags("Surveys");

        surveys.MapGet("/", async (CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok((await db.Surveys.AsNoTracking().OrderBy(s => s.Id).ToListAsync(ct)).Select(SurveyView.From).ToList()))
            .WithName("ListSurveys")
            .WithSummary("Every stored survey definition (SurveyJS JSON). A metric without a default survey uses the built-in one.");

        surveys.MapGet("/{id:long}", async Task<Results<Ok<SurveyView>, NotFound>> (long id, CloseloopDb db, CancellationToken ct) =>
                await db.Surveys.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct) is { } survey ? TypedResults.Ok(SurveyView.From(survey)) : TypedResults.NotFound())
            .WithName("GetSurvey")
            .WithSummary("One survey definition.");

        surveys.MapPost("/", (HttpContext http, CloseloopDb db, TimeProvider time) => SaveAsync(http, db, time, null))
            .RequireAuthorization(Policies.Admin)
            .Accepts<System.Text.Json.Nodes.JsonObject>("application/json")
            .Produces<SurveyView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithName("CreateSurvey")
            .WithSummary("Create a survey: name, metric (csat, nps or ces), definition (SurveyJS JSON with one required rating question named after the metric, on its scale, and optionally a question named comment), isDefault.");

        surveys.MapPut("/{id:long}", (long id, HttpContext http, CloseloopDb db, TimeProvider time) => SaveAsync(http, db, time, id))
            .RequireAuthorization(Policies.Admin)
            .Accepts<System.Text.Json.Nodes.JsonObject>("application/json")
            .Produces<SurveyView>()
            .ProducesValidationProblem()
            .WithName("UpdateSurvey")
            .WithSummary("Replace a survey definition; invitations not yet answered show the new one.");

        surveys.MapDelete("/{id:long}", async Task<Results<NoContent, NotFound>> (long id, CloseloopDb db, CancellationToken ct) =>
                // Invitations that named it fall back to their metric's default survey.
                await db.Surveys.Where(s => s.Id == id).ExecuteDeleteAsync(ct) == 0 ? TypedResults.NotFound() : TypedResults.NoContent())
            .RequireAuthorization(Policies.Admin)
            .WithName("DeleteSurvey")
            .WithSummary("Delete a survey; open invitations that named it show their metric's default survey instead.");

        return routes;
    }

    private static async Task<IResult> SaveAsync(HttpContext http, CloseloopDb db, TimeProvider time, long? id)
    {
        var ct = http.RequestAborted;
        var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, ct);
        if (problem is not null)
        {
            return problem;
        }
        using (document)
        {
            var errors = new FieldErrors();
            var input = SurveyInput.Parse(document!.RootElement, errors);
            if (input is null)
            {
                return Problems.Validation(errors.ToDictionary());
            }
            SurveyDefinition? saved;
            try
            {
                saved = await input.SaveAsync(db, id, http.User.Identity?.Name, time.GetUtcNow(), ct);
            }
            catch (DbUpdateException)
            {
                // Two admins made different surveys the default of one metric at the same moment.
                return Problems.Conflict($"Another {input.Metric} survey was made the default at the same time; try again.");
            }
            if (saved is null)
            {
                return TypedResults.NotFound();
            }
            var view = SurveyView.From(saved);
            return id is null ? TypedResults.Created($"/api/v1/surveys/{saved.Id}", view) : TypedResults.Ok(view);
        }
    }
}
