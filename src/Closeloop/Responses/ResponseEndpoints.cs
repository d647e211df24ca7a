using System.Text.Json;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Closeloop.Responses;

public static class ResponseEndpoints
{
    public static IEndpointRouteBuilder MapResponses(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/responses").WithTags("Responses");

        group.MapPost("/", (HttpContext http, CloseloopDb db, IngestPipeline pipeline) =>
                pipeline.SingleAsync(http, db, (json, errors, prefix) => Parse(pipeline, json, errors, prefix),
                    (d, scope, id, ct) => RecordViews.ResponseAsync(d, scope, null, id, ct), "/api/v1/responses"))
            .RequireAuthorization(Policies.Write)
            .Accepts<ResponseInput>("application/json")
            .Produces<ResponseView>(StatusCodes.Status201Created)
            .Produces<ResponseView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("CreateResponse")
            .WithSummary("Record one survey response (CSAT 1–5, NPS 0–10, CES 1–7); a retry with the same externalId answers 200.");

        group.MapPost("/batch", (HttpContext http, IngestPipeline pipeline) =>
                pipeline.BatchAsync(http, (json, errors, prefix) => Parse(pipeline, json, errors, prefix), "/api/v1/responses"))
            .RequireAuthorization(Policies.Write)
            .Accepts<ResponseInput[]>("application/json")
            .Produces<BatchResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("CreateResponseBatch")
            .WithSummary("Record up to 1,000 survey responses, with a result per item (partial success).");

        group.MapGet("/{externalId}", async Task<Results<Ok<ResponseView>, NotFound>> (string externalId, HttpContext http, CloseloopDb db) =>
                await RecordViews.ResponseAsync(db, CallerScope.From(http.User), Web.RouteIds.Decode(externalId), null, http.RequestAborted) is { } view
                    ? TypedResults.Ok(view)
                    : TypedResults.NotFound())
            .RequireAuthorization(Policies.ReadRecords)
            .WithName("GetResponse")
            .WithSummary("One survey response with its analysis (sentiment, signals, root cause).");

        return routes;
    }

    private static IngestItem? Parse(IngestPipeline pipeline, JsonElement json, FieldErrors errors, string prefix)
    {
        var input = IngestParser.ParseResponse(json, errors, prefix);
        return input is null ? null : new ResponseItem(input, pipeline.AnalyzeComment(input.Comment));
    }
}
