using System.Globalization;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

public sealed record CauseCount(string Code, string? Name, string? Department, long Count, double Share, double Cumulative);

public sealed record ParetoGroup(string? Key, long Total, IReadOnlyList<CauseCount> Causes);

public sealed record ParetoReport(string Source, string? By, ParetoGroup Overall, IReadOnlyList<ParetoGroup> Groups);

public sealed record TrendPoint(string Day, string Cause, long Count);

public sealed record Driver(string Code, string? Name, long N, double Share, double? ScoreWith, double? ScoreWithout, double? PointsLost);

public sealed record DriversReport(string Metric, long N, double? Score, IReadOnlyList<Driver> Drivers);

/// <summary>
/// Learning from labelled examples, and the root-cause reports: the Pareto of causes by site, team, agent,
/// channel or queue, each cause's trend, and the drivers (how many points of CSAT or NPS each cause costs).
/// </summary>
public static class InsightsEndpoints
{
    private static readonly string[] ResponseDimensions = ["site", "team", "agent", "channel"];

    public static IEndpointRouteBuilder MapInsights(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/insights").WithTags("Insights");

        group.MapPost("/examples", async Task<IResult> (HttpContext http, CloseloopDb db, TextInsights insights, TimeProvider time, CancellationToken ct) =>
            {
                var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.BatchLimit, ct);
                if (problem is not null)
                {
                    return problem;
                }
                using (document)
                {
                    if (document!.RootElement.ValueKind != JsonValueKind.Array)
                    {
                        return Problems.Validation("body", "must be a list of {\"text\": \"...\", \"cause\": \"<code>\"}");
                    }
                    var known = (await db.RootCauses.AsNoTracking().Select(r => r.Code).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
                    var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                    var examples = new List<(string, string)>();
                    var i = 0;
                    foreach (var item in document.RootElement.EnumerateArray())
                    {
                        var text = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!.Trim() : null;
                        var cause = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("cause", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()!.Trim().ToLowerInvariant() : null;
                        if (string.IsNullOrEmpty(text) || text.Length > 20_000)
                        {
                            errors[$"[{i}].text"] = ["is required (at most 20,000 characters)"];
                        }
                        if (cause is null || !known.Contains(cause))
                        {
                            errors[$"[{i}].cause"] = ["must be a code from GET /api/v1/root-causes"];
                        }
                        if (text is { Length: > 0 } && cause is not null)
                        {
                            examples.Add((text, cause));
                        }
                        i++;
                    }
                    if (i == 0)
                    {
                        errors["body"] = ["must hold at least one example"];
                    }
                    if (errors.Count > 0)
                    {
                        return Problems.Validation(errors);
                    }
                    var learned = await insights.LearnAsync(db, examples, "api", time.GetUtcNow(), ct);
                    return TypedResults.Ok(new { learned, examples = insights.Classifier.ExampleCount });
                }
            })
            .RequireAuthorization(Policies.Train)
            .Accepts<System.Text.Json.Nodes.JsonArray>("application/json")
            .WithName("PostTrainingExamples").WithSummary("Teach the root-cause classifier with labelled examples [{\"text\", \"cause\"}]; it learns at once. Admins and unscoped integration keys only: the classifier serves every site.");

        group.MapGet("/analyze", (string text, TextInsights insights) =>
                insights.Analyze(text) is { } f
                    ? TypedResults.Ok(Ingest.AnalysisView.From(f.Sentiment, f.SignalsText, f.RootCause, f.RootCauseConfidence))
                    : TypedResults.Ok(Ingest.AnalysisView.From(null, null, null, null)))
            .RequireAuthorization(Policies.ReadRecords)
            .WithName("AnalyzeText").WithSummary("Sentiment, signals and predicted root cause of a text, without storing it.");

        group.MapGet("/pareto", async Task<IResult> (HttpContext http, CloseloopDb db, string? by, string? source, string? from, string? to, string? format, string? site, CancellationToken ct) =>
            {
                if (source is not (null or "" or "responses" or "contacts"))
                {
                    return Problems.Validation("source", "must be responses or contacts");
                }
                if (format is not (null or "" or "json" or "csv"))
                {
                    return Problems.Validation("format", "must be json or csv");
                }
                var isContacts = source == "contacts";
                var dims = isContacts ? [.. ResponseDimensions, "queue"] : ResponseDimensions;
                if (by is not null && !dims.Contains(by))
                {
                    return Problems.Validation("by", $"must be one of {string.Join(", ", dims)}");
                }
                var (a, b, error) = Period(from, to);
                if (error is not null)
                {
                    return error;
                }
                var (scope, notFound) = await ScopeAsync(http, db, site, ct);
                if (notFound is not null)
                {
                    return notFound;
                }
                var report = await InsightReports.ParetoAsync(db, scope!, by, isContacts, a, b, ct);
                if (format == "csv")
                {
                    http.Response.Headers.ContentDisposition = "attachment; filename=\"closeloop-pareto.csv\"";
                    return TypedResults.Text(InsightReports.ParetoCsv(report), "text/csv; charset=utf-8");
                }
                return TypedResults.Ok(report);
            })
            .RequireAuthorization(Policies.ReadFigures)
            .WithName("GetCausePareto").WithSummary("Root causes ranked by how often they occur, overall and by site, team, agent, channel or (for contacts) queue; format=csv for CSV.");

        group.MapGet("/trend", async Task<IResult> (HttpContext http, CloseloopDb db, string? cause, string? from, string? to, string? site, CancellationToken ct) =>
            {
                var (a, b, error) = Period(from, to);
                if (error is not null)
                {
                    return error;
                }
                if (!string.IsNullOrWhiteSpace(cause) && !await db.RootCauses.AnyAsync(r => r.Code == cause.Trim().ToLowerInvariant(), ct))
                {
                    return Problems.Validation("cause", "must be a code from GET /api/v1/root-causes");
                }
                var (scope, notFound) = await ScopeAsync(http, db, site, ct);
                if (notFound is not null)
                {
                    return notFound;
                }
                return TypedResults.Ok(await InsightReports.TrendAsync(db, scope!, string.IsNullOrWhiteSpace(cause) ? null : cause.Trim(), a, b, ct));
            })
            .RequireAuthorization(Policies.ReadFigures)
            .WithName("GetCauseTrend").WithSummary("Daily counts of each root cause (or of one, with cause=) over a period.");

        group.MapGet("/drivers", async Task<IResult> (HttpContext http, CloseloopDb db, string? metric, string? from, string? to, string? site, CancellationToken ct) =>
            {
                metric = (metric ?? "csat").ToLowerInvariant();
                if (metric is not ("csat" or "nps"))
                {
                    return Problems.Validation("metric", "must be csat or nps");
                }
                var (a, b, error) = Period(from, to);
                if (error is not null)
                {
                    return error;
                }
                var (scope, notFound) = await ScopeAsync(http, db, site, ct);
                if (notFound is not null)
                {
                    return notFound;
                }
                return TypedResults.Ok(await InsightReports.DriversAsync(db, scope!, metric, a, b, ct));
            })
            .RequireAuthorization(Policies.ReadFigures)
            .WithName("GetScoreDrivers").WithSummary("Which causes hurt CSAT or NPS most: the score with and without each cause, and the points it costs weighted by its share.");
        return routes;
    }

    /// <summary>
    /// The caller's scope, narrowed to <paramref name="site"/> when one is asked for: a site the caller may not see,
    /// or that does not exist, answers 404, as everywhere else.
    /// </summary>
    private static async Task<(CallerScope? Scope, IResult? NotFound)> ScopeAsync(HttpContext http, CloseloopDb db, string? site, CancellationToken ct)
    {
        var scope = CallerScope.From(http.User);
        if (string.IsNullOrWhiteSpace(site))
        {
            return (scope, null);
        }
        var code = site.Trim().ToLowerInvariant();
        var id = await db.Sites.AsNoTracking().Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
        return id is { } siteId && scope.CanSeeSite(siteId) ? (scope with { SiteId = siteId, SiteCode = code }, null) : (null, TypedResults.NotFound());
    }

    internal static (long From, long To, IResult? Error) Period(string? from, string? to)
    {
        long a = 0, b = long.MaxValue / 2;
        if (from is not null)
        {
            if (!IsoTime.TryParse(from, out var f))
            {
                return (0, 0, Problems.Validation("from", "must be an ISO 8601 date or date and time"));
            }
            a = f.ToUnixTimeMilliseconds();
        }
        if (to is not null)
        {
            if (!IsoTime.TryParse(to, out var t))
            {
                return (0, 0, Problems.Validation("to", "must be an ISO 8601 date or date and time"));
            }
            b = (IsoTime.IsDate(to) ? IsoTime.EndOfDay(t) : t).ToUnixTimeMilliseconds();
        }
        if (a > b)
        {
            return (0, 0, Problems.Validation("to", "must not be before from"));
        }
        return (a, b, null);
    }
}
