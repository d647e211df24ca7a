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
                var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                var role = Roles.Normalize(request.Role);
                if (role is null)
                {
                    errors["role"] = [$"must be one of {string.Join(", ", Roles.All)}"];
                }
                var name = request.Name?.Trim();
                if (string.IsNullOrEmpty(name) || name.Length > 200)
                {
                    errors["name"] = ["is required (at most 200 characters)"];
                }
                long? siteId = null;
                if (request.Site is not null)
                {
                    siteId = await db.Sites.Where(s => s.Code == request.Site.Trim().ToLowerInvariant()).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
                    if (siteId is null)
                    {
                        errors["site"] = ["no site with this code"];
                    }
                }
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                var (entity, key) = await ApiKeyIssuer.CreateAsync(db, name!, role!, siteId, time.GetUtcNow(), ct);
                return TypedResults.Created($"/api/v1/api-keys/{entity.Id}", new ApiKeyCreated(entity.Id, entity.Name, entity.Role, request.Site?.Trim().ToLowerInvariant(), key));
            })
            .Produces<ApiKeyCreated>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithName("CreateApiKey")
            .WithSummary("Create an API key with a role and an optional site scope; the key is shown in this answer only.");

        group.MapGet("/", async (CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok(await db.ApiKeys.AsNoTracking().OrderBy(k => k.Id)
                    .Select(k => new ApiKeyView(k.Id, k.Name, k.Prefix, k.Role, db.Sites.Where(s => s.Id == k.SiteId).Select(s => s.Code).FirstOrDefault(), k.CreatedAt, k.RevokedAt))
                    .ToListAsync(ct)))
            .WithName("ListApiKeys")
            .WithSummary("Every API key, without its secret.");

        group.MapDelete("/{id:long}", async Task<Results<NoContent, NotFound>> (long id, CloseloopDb db, ApiKeyCache cache, TimeProvider time, CancellationToken ct) =>
            {
                var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, ct);
                if (key is null)
                {
                    return TypedResults.NotFound();
                }
                key.RevokedAt ??= time.GetUtcNow();
                await db.SaveChangesAsync(ct);
                cache.Forget(key.Hash);
                return TypedResults.NoContent();
            })
            .WithName("RevokeApiKey")
            .WithSummary("Revoke an API key at once.");
        return routes;
    }
}
