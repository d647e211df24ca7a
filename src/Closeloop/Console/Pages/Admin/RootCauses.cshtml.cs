using Closeloop.Data;
using Closeloop.Insights;
using Closeloop.RootCauses;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record CauseRow(string Code, string Name, string? Parent, string Department, int Children);

/// <summary>The root-cause taxonomy: two levels, each cause owned by a department. Changes go through <see cref="RootCauseTaxonomy"/>, as the API's do.</summary>
public sealed class RootCausesModel(CloseloopDb db, TimeProvider time, TextInsights insights) : PageModel
{
    public List<CauseRow> Causes { get; private set; } = [];

    public List<string> Departments { get; private set; } = [];

    /// <summary>The cause the failed change was about ("" for a new one), so its form opens again with the messages.</summary>
    public string? FailedCause { get; private set; }

    public Dictionary<string, string[]> Errors { get; private set; } = new(StringComparer.Ordinal);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostCreateAsync(string? code, string? name, string? parent, string? department, CancellationToken ct) =>
        await AnswerAsync("", await RootCauseTaxonomy.CreateAsync(db, insights, new RootCauseInput(code, name, Blank(parent), department), time.GetUtcNow(), ct), ct);

    public async Task<IActionResult> OnPostUpdateAsync(string code, string? name, string? parent, string? department, CancellationToken ct) =>
        await AnswerAsync(code, await RootCauseTaxonomy.UpdateAsync(db, code, new RootCauseInput(code, Blank(name), Blank(parent), Blank(department)), ct, parentGiven: true), ct);

    public async Task<IActionResult> OnPostDeleteAsync(string code, CancellationToken ct) =>
        await AnswerAsync(code, await RootCauseTaxonomy.DeleteAsync(db, insights, code, ct), ct);

    public IEnumerable<string> ErrorsFor(string cause, string field) =>
        cause == FailedCause ? Errors.Where(e => e.Key == field).SelectMany(e => e.Value) : [];

    private async Task<IActionResult> AnswerAsync(string cause, TaxonomyChange change, CancellationToken ct)
    {
        if (change.NotFound)
        {
            return NotFound();
        }
        if (change.Errors is null && change.Conflict is null)
        {
            return Redirect("/admin/root-causes");
        }
        db.ChangeTracker.Clear();
        FailedCause = cause;
        Errors = change.Errors ?? new(StringComparer.Ordinal) { ["code"] = [change.Conflict!] };
        HttpContext.Response.StatusCode = change.Conflict is null ? StatusCodes.Status400BadRequest : StatusCodes.Status409Conflict;
        await LoadAsync(ct);
        return Page();
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private async Task LoadAsync(CancellationToken ct)
    {
        var causes = await db.RootCauses.AsNoTracking().OrderBy(r => r.Code).Select(r => new { r.Code, r.Name, r.Parent, r.Department }).ToListAsync(ct);
        // Parents first, each followed by its children, so the list reads as the tree it is.
        var byParent = causes.Where(c => c.Parent is not null).ToLookup(c => c.Parent!);
        var ordered = causes.Where(c => c.Parent is null || !causes.Any(p => p.Code == c.Parent))
            .SelectMany(top => new[] { top }.Concat(byParent[top.Code]));
        Causes = ordered.Select(c => new CauseRow(c.Code, c.Name, c.Parent, c.Department, byParent[c.Code].Count())).ToList();
        Departments = causes.Select(c => c.Department).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }
}
