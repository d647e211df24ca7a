using Closeloop.Data;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Security;

public sealed record ApiKeyRequest(string? Name, string? Role, string? Site);

public sealed record ApiKeyView(long Id, string Name, string Prefix, string Role, string? Site, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

public sealed record ApiKeyCreated(long Id, string Name, string Role, string? Site, string Key);

public static class ApiKeyEndpoints
{
    public static IEndpointRouteBuilder MapApiKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/api-keys").WithTags("API keys").RequireAuthorization(Policies.Admin);

        group.MapPost("/", async Task<IResult> (ApiKeyRequest request, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var (created, errors) = await ApiKeyIssuer.CreateAsync(db, request, time.GetUtcNow(), ct);
                return created is null ? Problems.Validation(errors) : TypedResults.Created($"/api/v1/api-keys/{created.Id}", created);
            })
            .Produces<ApiKeyCreated>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithName("CreateApiKey").NamesEveryBadField()
            .WithSummary("Create an API key with a role and an optional site scope; the key is shown in this answer only.");

        group.MapGet("/", async (CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok(await db.ApiKeys.AsNoTracking().OrderBy(k => k.Id)
                    .Select(k => new ApiKeyView(k.Id, k.Name, k.Prefix, k.Role, db.Sites.Where(s => s.Id == k.SiteId).Select(s => s.Code).FirstOrDefault(), k.CreatedAt, k.RevokedAt))
                    .ToListAsync(ct)))
            .WithName("ListApiKeys")
            .WithSummary("Every API key, without its secret.");

        group.MapDelete("/{id:long}", async Task<Results<NoContent, NotFound>> (long id, CloseloopDb db, ApiKeyCache cache, TimeProvider time, CancellationToken ct) =>
                await ApiKeyIssuer.RevokeAsync(db, cache, id, time.GetUtcNow(), ct) ? TypedResults.NoContent() : TypedResults.NotFound())
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key at once.");
        return routes;
    }
}
