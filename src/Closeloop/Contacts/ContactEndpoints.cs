using System.Text.Json;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Closeloop.Contacts;

public static class ContactEndpoints
{
    public static IEndpointRouteBuilder MapContacts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/contacts").WithTags("Contacts");

        group.MapPost("/", (HttpContext http, CloseloopDb db, IngestPipeline pipeline) =>
                pipeline.SingleAsync(http, db, (json, errors, prefix) => Parse(pipeline, json, errors, prefix),
                    (d, scope, id, ct) => RecordViews.ContactAsync(d, scope, null, id, ct), "/api/v1/contacts"))
            .RequireAuthorization(Policies.Write)
            .Accepts<ContactInput>("application/json")
            .Produces<ContactView>(StatusCodes.Status201Created)
            .Produces<ContactView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("CreateContact")
            .WithSummary("Record one contact; a retry with the same externalId answers 200 with the same record.");

        group.MapPost("/batch", (HttpContext http, IngestPipeline pipeline) =>
                pipeline.BatchAsync(http, (json, errors, prefix) => Parse(pipeline, json, errors, prefix), "/api/v1/contacts"))
            .RequireAuthorization(Policies.Write)
            .Accepts<ContactInput[]>("application/json")
            .Produces<BatchResult>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("CreateContactBatch")
            .WithSummary("Record up to 1,000 contacts, with a result per item (partial success).");

        group.MapGet("/{externalId}", async Task<Results<Ok<ContactView>, NotFound>> (string externalId, HttpContext http, CloseloopDb db) =>
                await RecordViews.ContactAsync(db, CallerScope.From(http.User), RouteIds.Decode(externalId), null, http.RequestAborted) is { } view
                    ? TypedResults.Ok(view)
                    : TypedResults.NotFound())
            .RequireAuthorization(Policies.ReadRecords)
            .WithName("GetContact")
            .WithSummary("One contact with its issue and analysis.");

        return routes;
    }

    private static IngestItem? Parse(IngestPipeline pipeline, JsonElement json, FieldErrors errors, string prefix)
    {
        var input = IngestParser.ParseContact(json, errors, prefix);
        return input is null ? null : new ContactItem(input, pipeline.Analyze(input.Summary));
    }
}
