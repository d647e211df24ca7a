using System.Text.Json;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Responses;
using Closeloop.Surveys;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record SurveyRow(long Id, string Name, string Metric, bool IsDefault, DateTimeOffset UpdatedAt, string? UpdatedBy);

/// <summary>Survey definitions: listed, created and edited as SurveyJS JSON, checked by the same rules as the API, previewed with SurveyJS.</summary>
public sealed class SurveysModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public static readonly string[] Metrics = [MetricScales.Csat, MetricScales.Nps, MetricScales.Ces];

    public List<SurveyRow> Surveys { get; private set; } = [];

    /// <summary>The metrics that use their built-in survey because no stored survey is their default.</summary>
    public List<string> BuiltIn { get; private set; } = [];

    public long? EditId { get; private set; }

    public string Name { get; private set; } = "";

    public string Metric { get; private set; } = MetricScales.Csat;

    public bool IsDefault { get; private set; }

    public string Definition { get; private set; } = "";

    public Dictionary<string, string[]> Errors { get; private set; } = [];

    public string? Saved { get; private set; }

    public async Task<IActionResult> OnGetAsync(long? id, string? from, string? saved, CancellationToken ct)
    {
        if (id is { } edit)
        {
            var survey = await db.Surveys.AsNoTracking().FirstOrDefaultAsync(s => s.Id == edit, ct);
            if (survey is null)
            {
                return NotFound();
            }
            (EditId, Name, Metric, IsDefault, Definition) = (survey.Id, survey.Name, survey.Metric, survey.IsDefault, Pretty(survey.Definition));
        }
        else
        {
            // A new survey starts from the built-in one of the chosen metric, which already follows the rules.
            Metric = from is not null && MetricScales.IsKnown(from) ? from : MetricScales.Csat;
            Name = "";
            Definition = Pretty(DefaultSurveys.For(Metric));
        }
        Saved = saved;
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(long? id, string? name, string? metric, bool isDefault, string? definition, CancellationToken ct)
    {
        (EditId, Name, Metric, IsDefault, Definition) = (id, name ?? "", metric ?? "", isDefault, definition ?? "");
        var errors = new FieldErrors();
        SurveyInput? input = null;
        try
        {
            using var parsed = JsonDocument.Parse(string.IsNullOrWhiteSpace(definition) ? "null" : definition);
            var body = JsonSerializer.SerializeToElement(new { name, metric, isDefault, definition = parsed.RootElement });
            input = SurveyInput.Parse(body, errors);
        }
        catch (JsonException ex)
        {
            errors.Add("definition", $"is not valid JSON: {ex.Message}");
        }
        if (input is null)
        {
            return await FailAsync(errors.ToDictionary(), ct);
        }
        SurveyDefinition? saved;
        try
        {
            saved = await input.SaveAsync(db, id, User.Identity?.Name, time.GetUtcNow(), ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            return await FailAsync(new() { ["isDefault"] = ["another survey was made the default of this metric at the same time; try again"] }, ct);
        }
        if (saved is null)
        {
            return NotFound();
        }
        return Redirect($"/admin/surveys?id={saved.Id}&saved=1");
    }

    public async Task<IActionResult> OnPostDeleteAsync(long id, CancellationToken ct)
    {
        await db.Surveys.Where(s => s.Id == id).ExecuteDeleteAsync(ct);
        return Redirect("/admin/surveys");
    }

    private async Task<IActionResult> FailAsync(Dictionary<string, string[]> errors, CancellationToken ct)
    {
        Errors = errors;
        Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        Surveys = await db.Surveys.AsNoTracking().OrderBy(s => s.Metric).ThenBy(s => s.Name)
            .Select(s => new SurveyRow(s.Id, s.Name, s.Metric, s.IsDefault, s.UpdatedAt, s.UpdatedBy)).ToListAsync(ct);
        BuiltIn = Metrics.Where(m => !Surveys.Any(s => s.Metric == m && s.IsDefault)).ToList();
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static string Pretty(string json)
    {
        using var document = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(document.RootElement, Indented);
    }
}
