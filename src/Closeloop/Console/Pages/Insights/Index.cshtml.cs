using System.Globalization;
using Closeloop.Data;
using Closeloop.Insights;
using Closeloop.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Closeloop.WebConsole.Pages.Insights;

/// <summary>The root-cause reports in the console: Pareto, trend and drivers, scoped to what the person may see.</summary>
public sealed class IndexModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public static readonly string[] Dimensions = ["site", "team", "agent", "channel", "queue"];

    [BindProperty(SupportsGet = true)] public string? By { get; set; }
    [BindProperty(SupportsGet = true)] public string? Source { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Metric { get; set; }

    public ParetoReport? Pareto { get; private set; }
    public DriversReport? Drivers { get; private set; }
    public IReadOnlyList<(string Cause, string? Name, long[] Daily)> Trend { get; private set; } = [];
    public IReadOnlyList<string> Days { get; private set; } = [];
    public string? Error { get; private set; }

    public string Query(string format = "") =>
        $"?by={By}&source={Source}&from={From}&to={To}" + (format.Length > 0 ? $"&format={format}" : "");

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        From ??= today.AddDays(-29).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        To ??= today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Source = Source == "contacts" ? "contacts" : "responses";
        Metric = Metric == "nps" ? "nps" : "csat";
        if (By is not null && (!Dimensions.Contains(By) || (By == "queue" && Source != "contacts")))
        {
            By = null;
        }
        var (a, b, error) = InsightsEndpoints.Period(From, To);
        if (error is not null)
        {
            Error = "The period's dates must be written as YYYY-MM-DD.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        var scope = CallerScope.From(User);
        Pareto = await InsightReports.ParetoAsync(db, scope, By, Source == "contacts", a, b, ct);
        Drivers = await InsightReports.DriversAsync(db, scope, Metric, a, b, ct);
        var points = await InsightReports.TrendAsync(db, scope, null, a, b, ct);
        var first = DateOnly.ParseExact(From, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var last = DateOnly.ParseExact(To, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var days = Enumerable.Range(0, Math.Clamp(last.DayNumber - first.DayNumber + 1, 1, 366)).Select(i => first.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList();
        var index = days.Select((d, i) => (d, i)).ToDictionary(x => x.d, x => x.i, StringComparer.Ordinal);
        var names = Pareto.Overall.Causes.ToDictionary(c => c.Code, c => c.Name, StringComparer.Ordinal);
        Days = days;
        Trend = points.GroupBy(p => p.Cause).OrderByDescending(g => g.Sum(p => p.Count)).Take(8)
            .Select(g =>
            {
                var daily = new long[days.Count];
                foreach (var p in g)
                {
                    if (index.TryGetValue(p.Day, out var i))
                    {
                        daily[i] += p.Count;
                    }
                }
                return (g.Key, names.GetValueOrDefault(g.Key), daily);
            }).ToList();
        return Page();
    }

    /// <summary>An inline SVG sparkline: a server-rendered picture needs no script and no chart library.</summary>
    public static string Sparkline(long[] values, int width = 220, int height = 36)
    {
        var max = Math.Max(1, values.Max());
        var step = values.Length > 1 ? (double)width / (values.Length - 1) : width;
        return string.Join(' ', values.Select((v, i) => string.Create(CultureInfo.InvariantCulture, $"{i * step:0.#},{height - 2 - (height - 4) * v / (double)max:0.#}")));
    }
}
