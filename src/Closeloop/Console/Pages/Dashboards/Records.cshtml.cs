using Closeloop.Data;
using Closeloop.Metrics;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Closeloop.WebConsole.Pages.Dashboards;

/// <summary>The records behind a dashboard figure, with the same filter code as GET /api/v1/metrics/records.</summary>
public sealed class RecordsModel(CloseloopDb db, TimeProvider time) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? Metric { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Site { get; set; }
    [BindProperty(SupportsGet = true)] public string? Team { get; set; }
    [BindProperty(SupportsGet = true)] public string? Agent { get; set; }
    [BindProperty(SupportsGet = true)] public string? Channel { get; set; }
    [BindProperty(SupportsGet = true)] public string? Day { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }
    [BindProperty(SupportsGet = true)] public string? Format { get; set; }

    public MetricRecordsPage? Records { get; private set; }
    public IReadOnlyList<string> Errors { get; private set; } = [];

    /// <summary>The filter as a query string, without the cursor: the CSV link and the next page build on it.</summary>
    public string FilterQuery => string.Join('&', new[] { ("metric", Metric), ("from", From), ("to", To), ("site", Site), ("team", Team), ("agent", Agent), ("channel", Channel), ("day", Day) }
        .Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));

    public string Describe => string.Join(" · ", new[] { ("site", Site), ("team", Team), ("agent", Agent), ("channel", Channel), ("day", Day) }
        .Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => $"{p.Item1} {p.Item2}"));

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return NotFound();
        }
        var (filter, errors) = await MetricRecords.ResolveAsync(db, CallerScope.From(User), new RecordParameters(Metric, From, To, Site, Team, Agent, Channel, Day), time.GetUtcNow(), ct);
        if (errors is null && !MetricRecords.IsValidCursor(Cursor))
        {
            errors = new() { ["cursor"] = ["is not a page of this list"] };
        }
        if (errors is not null)
        {
            Errors = errors.Select(e => $"{e.Key} {string.Join("; ", e.Value)}").ToList();
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        if (filter is null)
        {
            return NotFound();
        }
        if (Format == "csv")
        {
            await CsvExport.WriteAsync(Response, $"closeloop-{filter.Metric}-records.csv", MetricRecords.CsvHeader, MetricRecords.All(db, filter).Select(MetricRecords.CsvRow), ct);
            return new EmptyResult();
        }
        Records = await MetricRecords.PageAsync(db, filter, Cursor, MetricRecords.DefaultLimit, ct);
        return Page();
    }
}
