using System.Text.Json;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.RootCauses;

public sealed record RootCauseInput(string? Code, string? Name, string? Parent, string? Department);

public sealed record RootCauseView(string Code, string Name, string? Parent, string Department);

public static class RootCauseEndpoints
{
    public static IEndpointRouteBuilder MapRootCauses(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/root-causes").WithTags("Root causes");
        group.MapGet("/", async (CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok(await db.RootCauses.AsNoTracking().OrderBy(r => r.Code).Select(r => new RootCauseView(r.Code, r.Name, r.Parent, r.Department)).ToListAsync(ct)))
            .WithName("ListRootCauses").WithSummary("The two-level root-cause taxonomy, each cause with its owning department.");
        group.MapPost("/", async Task<IResult> (HttpRequest request, CloseloopDb db, TimeProvider time, Insights.TextInsights insights, CancellationToken ct) =>
                await ReadAsync(request, ct) is var (input, _, typeErrors, problem) && problem is not null
                    ? problem
                    : Answer(await RootCauseTaxonomy.CreateAsync(db, insights, input!, time.GetUtcNow(), ct, typeErrors), created: true))
            .Accepts<RootCauseInput>("application/json")
            .Produces<RootCauseView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin)
            .WithName("CreateRootCause").WithSummary("Add a cause: code, name, optional parent code (two levels) and owning department.");
        group.MapPut("/{code}", async Task<IResult> (string code, HttpRequest request, CloseloopDb db, CancellationToken ct) =>
                await ReadAsync(request, ct) is var (input, parentGiven, typeErrors, problem) && problem is not null
                    ? problem
                    : Answer(await RootCauseTaxonomy.UpdateAsync(db, code, input!, ct, parentGiven, typeErrors), created: false))
            .Accepts<RootCauseInput>("application/json")
            .Produces<RootCauseView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .RequireAuthorization(Policies.Admin)
            .WithName("UpdateRootCause").WithSummary("Rename a cause, move it under another parent, or give it to another department.");
        group.MapDelete("/{code}", async Task<IResult> (string code, CloseloopDb db, Insights.TextInsights insights, CancellationToken ct) =>
                Answer(await RootCauseTaxonomy.DeleteAsync(db, insights, code, ct), created: false))
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin)
            .WithName("DeleteRootCause").WithSummary("Remove a cause that has no children and that no response, contact or alert carries (409 otherwise).");
        return routes;
    }

    /// <summary>
    /// The body read by hand, for two reasons: to tell <c>"parent": null</c> (make it a category) from no parent at all
    /// (keep it), and to name the fields of the wrong type beside those whose values are wrong.
    /// </summary>
    private static async Task<(RootCauseInput? Input, bool ParentGiven, Dictionary<string, string[]>? TypeErrors, IResult? Problem)> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        var (document, problem) = await JsonBody.ReadObjectAsync(request, ct);
        if (problem is not null)
        {
            return (null, false, null, problem);
        }
        using (document)
        {
            var body = document!.RootElement;
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var fields = new JsonFields(body, errors);
            var input = new RootCauseInput(fields.Text("code", max: 100), fields.Text("name"), fields.Text("parent", max: 100), fields.Text("department"));
            return (input, body.TryGetProperty("parent", out _), errors, null);
        }
    }

    private static IResult Answer(TaxonomyChange change, bool created) => change switch
    {
        { NotFound: true } => TypedResults.NotFound(),
        { Errors: { } errors } => Problems.Validation(errors),
        { Conflict: { } conflict } => Problems.Conflict(conflict),
        { Cause: null } => TypedResults.NoContent(),
        { Cause: { } cause } when created => TypedResults.Created($"/api/v1/root-causes/{cause.Code}", RootCauseTaxonomy.View(cause)),
        { Cause: { } cause } => TypedResults.Ok(RootCauseTaxonomy.View(cause)),
    };
}
