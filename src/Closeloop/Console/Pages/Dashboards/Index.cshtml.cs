using System.Globalization;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Metrics;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Dashboards;

/// <summary>
/// CSAT, NPS, CES and FCR over time and by a dimension, and the alert measures, for a period: two calls of
/// <see cref="MetricsQuery.RunAsync"/> (by day and by the dimension), which read the rollups.
/// </summary>
public sealed class IndexModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public static readonly string[] Dimensions = ["site", "team", "agent", "channel"];
    public static readonly string[] Periods = ["7", "30", "90", "custom"];

    [BindProperty(SupportsGet = true)] public string? Period { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Site { get; set; }
    [BindProperty(SupportsGet = true)] public string? By { get; set; }
    [BindProperty(SupportsGet = true)] public string? Format { get; set; }

    public MetricsReport? ByDay { get; private set; }
    public MetricsReport? ByDimension { get; private set; }
    public MetricSet Total => ByDimension?.Total ?? ByDay!.Total;
    public IReadOnlyList<string> Sites { get; private set; } = [];
    public string? ScopedSite { get; private set; }
    public string? Error { get; private set; }
    public bool CanDrill => User.ReadsRecords();

    /// <summary>The period and site as a query string, shared by every drill-down link and export.</summary>
    public string BaseQuery => $"from={Uri.EscapeDataString(From ?? "")}&to={Uri.EscapeDataString(To ?? "")}" + (Site is { Length: > 0 } s ? $"&site={Uri.EscapeDataString(s)}" : "");

    public string Drill(string metric) => $"/dashboards/records?metric={metric}&{BaseQuery}";

    /// <summary>A group without a site, team or agent has a null key; the drill-down names it with a placeholder.</summary>
    public string Drill(string metric, MetricGroup group) => Drill(metric) + $"&{By}={Uri.EscapeDataString(group.Key ?? MetricRecords.None)}";

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        Period = Periods.Contains(Period) ? Period : From is not null || To is not null ? "custom" : "30";
        if (Period != "custom")
        {
            var days = int.Parse(Period!, CultureInfo.InvariantCulture);
            From = today.AddDays(1 - days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            To = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        }
        By = Dimensions.Contains(By) ? By : "site";
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var from = MetricsEndpoints.ParseBound(From, false, "from", errors);
        var to = MetricsEndpoints.ParseBound(To, true, "to", errors);
        if (errors.Count > 0 || from is null || to is null || from >= to)
        {
            Error = "Choose a period: a from date and a to date (YYYY-MM-DD), the to date not before the from date.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        var scope = CallerScope.From(User);
        long? siteId = scope.SiteId;
        ScopedSite = scope.IsSiteScoped ? scope.SiteCode : null;
        if (!string.IsNullOrWhiteSpace(Site))
        {
            var code = Site.Trim().ToLowerInvariant();
            var id = await db.Sites.Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
            if (id is null || !scope.CanSeeSite(id.Value))
            {
                return NotFound();
            }
            siteId = id;
            Site = code;
        }
        Sites = ScopedSite is not null ? [ScopedSite] : await db.Sites.AsNoTracking().OrderBy(s => s.Code).Select(s => s.Code).ToListAsync(ct);

        // Both groupings count the same alerts: read them once (63,000 alerts in a month took 0.1 s to read).
        var alerts = await AlertMeasures.LoadAsync(db, from, to, siteId, ct);
        ByDimension = await MetricsQuery.RunAsync(db, from, to, By, siteId, time.GetUtcNow(), ct, alerts);
        if (Format == "csv")
        {
            await CsvExport.WriteAsync(Response, $"closeloop-by-{By}.csv", CsvHeader, CsvExport.Rows(ByDimension.Groups, g => CsvRow(By!, g)), ct);
            return new EmptyResult();
        }
        ByDay = await MetricsQuery.RunAsync(db, from, to, "day", siteId, time.GetUtcNow(), ct, alerts);
        return Page();
    }

    private static readonly string[] CsvHeader = ["dimension", "key", "csat", "csat_n", "nps", "nps_n", "ces", "ces_mean", "ces_n", "fcr", "fcr_n",
        "alerts", "closed_loop_rate", "sla_adherence", "sla_n", "time_to_first_contact_median_minutes", "time_to_first_contact_n", "recovery_rate", "recovery_n"];

    private static object?[] CsvRow(string by, MetricGroup g)
    {
        var a = g.Alerts ?? AlertMeasures.Empty;
        return [by, g.Key ?? MetricRecords.None, g.Csat.Value, g.Csat.N, g.Nps.Value, g.Nps.N, g.Ces.Value, g.Ces.Mean, g.Ces.N, g.Fcr.Value, g.Fcr.N,
            a.N, a.ClosedLoop.Value, a.SlaAdherence.Value, a.SlaAdherence.N, a.TimeToFirstContact.MedianMinutes, a.TimeToFirstContact.N, a.RecoveryRate.Value, a.RecoveryRate.N];
    }

    /// <summary>
    /// What the charts draw, embedded in the page as JSON: System.Text.Json's default encoder escapes &lt; &gt; &amp; and
    /// quotes, so a site or agent code cannot close the script element.
    /// </summary>
    public string ChartData()
    {
        static object Point(string? key, MetricSet s) => new
        {
            key,
            csat = new { value = Round(s.Csat.Value), n = s.Csat.N },
            nps = new { value = Round(s.Nps.Value), n = s.Nps.N },
            ces = new { value = Round(s.Ces.Value), n = s.Ces.N },
            fcr = new { value = Round(s.Fcr.Value), n = s.Fcr.N },
            closed_loop = s.Alerts is { } a ? new { value = Round(a.ClosedLoop.Value), n = a.ClosedLoop.N } : null,
            sla = s.Alerts is { } b ? new { value = Round(b.SlaAdherence.Value), n = b.SlaAdherence.N } : null,
            recovery = s.Alerts is { } c ? new { value = Round(c.RecoveryRate.Value), n = c.RecoveryRate.N } : null,
        };
        // Every day of the period gets a point, so a quiet day shows as a gap rather than vanishing from the axis.
        var byKey = ByDay!.Groups.Where(g => g.Key is not null).ToDictionary(g => g.Key!, StringComparer.Ordinal);
        var first = DateOnly.ParseExact(From!, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var last = DateOnly.ParseExact(To!, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var keys = last.DayNumber - first.DayNumber <= 400
            ? Enumerable.Range(0, last.DayNumber - first.DayNumber + 1).Select(i => first.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList()
            : byKey.Keys.Order(StringComparer.Ordinal).ToList();
        var empty = new MetricSet(new RateFigure(null, 0, 0), new NpsFigure(null, 0, 0, 0, 0), new CesFigure(null, null, 0, 0), new FcrFigure(null, 0, 0));
        var data = new
        {
            query = BaseQuery,
            by = By,
            drill = CanDrill,
            none = MetricRecords.None,
            days = keys.Select(k => byKey.TryGetValue(k, out var g) ? Point(k, new MetricSet(g.Csat, g.Nps, g.Ces, g.Fcr)) : Point(k, empty)),
            groups = ByDimension!.Groups.Select(g => Point(g.Key, new MetricSet(g.Csat, g.Nps, g.Ces, g.Fcr) { Alerts = g.Alerts })),
        };
        return JsonSerializer.Serialize(data);
    }

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 1) : null;

    public static string Percent(double? value) => value is { } v ? v.ToString("0.#", CultureInfo.InvariantCulture) + "%" : "–";

    public static string Score(double? value) => value is { } v ? v.ToString("+0.#;-0.#;0", CultureInfo.InvariantCulture) : "–";

    public static string Minutes(double? value) => value switch
    {
        null => "–",
        < 120 => value.Value.ToString("0", CultureInfo.InvariantCulture) + " min",
        _ => (value.Value / 60).ToString("0.#", CultureInfo.InvariantCulture) + " h",
    };
}
