using System.Globalization;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;

namespace Closeloop.Metrics;

/// <summary>The drill-down behind every figure of GET /api/v1/metrics: the responses, issues or alerts it counts.</summary>
public static class MetricRecordsEndpoints
{
    public static IEndpointRouteBuilder MapMetricRecords(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/v1/metrics/records", async (HttpContext http, CloseloopDb db, TimeProvider time, string? metric, string? from, string? to, string? site, string? team,
                string? agent, string? channel, string? day, string? cursor, string? limit, string? format, CancellationToken ct) =>
            {
                var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                var size = MetricRecords.DefaultLimit;
                if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MetricRecords.MaxLimit))
                {
                    errors["limit"] = [$"must be a whole number from 1 to {MetricRecords.MaxLimit}"];
                }
                if (!MetricRecords.IsValidCursor(cursor))
                {
                    errors["cursor"] = ["is not a cursor this API gave out (nextCursor)"];
                }
                if (format is not null && format != "json" && format != "csv")
                {
                    errors["format"] = ["must be json or csv"];
                }
                var (filter, problems) = await MetricRecords.ResolveAsync(db, CallerScope.From(http.User),
                    new RecordParameters(metric, from, to, site, team, agent, channel, day), time.GetUtcNow(), ct);
                foreach (var (field, messages) in problems ?? [])
                {
                    errors[field] = messages;
                }
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                if (filter is null)
                {
                    return TypedResults.NotFound();
                }
                if (format == "csv")
                {
                    await CsvExport.WriteAsync(http.Response, $"closeloop-{filter.Metric}-records.csv", MetricRecords.CsvHeader,
                        MetricRecords.All(db, filter).Select(MetricRecords.CsvRow), ct);
                    return TypedResults.Empty;
                }
                return TypedResults.Ok(await MetricRecords.PageAsync(db, filter, cursor, size, ct));
            })
            .RequireAuthorization(Policies.ReadRecords)
            .WithTags("Metrics")
            .Produces<MetricRecordsPage>()
            .ProducesValidationProblem()
            .Produces(StatusCodes.Status404NotFound)
            .WithName("GetMetricRecords")
            .WithSummary("The records behind a figure of GET /api/v1/metrics (responses for csat, nps and ces; issues for fcr; alerts for the alert measures), " +
                "filtered by period, site, team, agent, channel and day exactly as the figure counts them. Paged newest first with a cursor; format=csv streams them all.");
        return routes;
    }
}
