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
        group.MapPost("/", async Task<IResult> (RootCauseInput input, CloseloopDb db, TimeProvider time, Insights.TextInsights insights, CancellationToken ct) =>
            {
                var errors = await ValidateAsync(db, input, input.Code, ct);
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                var code = input.Code!.Trim().ToLowerInvariant();
                if (await db.RootCauses.AnyAsync(r => r.Code == code, ct))
                {
                    return Problems.Conflict($"A cause with code '{code}' already exists; PUT /api/v1/root-causes/{code} changes it.");
                }
                var cause = new RootCause { Code = code, Name = input.Name!.Trim(), Parent = input.Parent?.Trim().ToLowerInvariant(), Department = input.Department!.Trim(), CreatedAt = time.GetUtcNow() };
                db.RootCauses.Add(cause);
                await db.SaveChangesAsync(ct);
                await insights.SyncTaxonomyAsync(db, ct);
                return TypedResults.Created($"/api/v1/root-causes/{code}", new RootCauseView(cause.Code, cause.Name, cause.Parent, cause.Department));
            })
            .RequireAuthorization(Policies.Admin)
            .WithName("CreateRootCause").WithSummary("Add a cause: code, name, optional parent code (two levels) and owning department.");
        group.MapPut("/{code}", async Task<IResult> (string code, RootCauseInput input, CloseloopDb db, CancellationToken ct) =>
            {
                code = code.ToLowerInvariant();
                var cause = await db.RootCauses.FirstOrDefaultAsync(r => r.Code == code, ct);
                if (cause is null)
                {
                    return TypedResults.NotFound();
                }
                var errors = await ValidateAsync(db, input with { Name = input.Name ?? cause.Name, Department = input.Department ?? cause.Department }, code, ct);
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                cause.Name = input.Name?.Trim() ?? cause.Name;
                cause.Department = input.Department?.Trim() ?? cause.Department;
                cause.Parent = input.Parent?.Trim().ToLowerInvariant() ?? cause.Parent;
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(new RootCauseView(cause.Code, cause.Name, cause.Parent, cause.Department));
            })
            .RequireAuthorization(Policies.Admin)
            .WithName("UpdateRootCause").WithSummary("Rename a cause, move it under another parent, or give it to another department.");
        group.MapDelete("/{code}", async Task<IResult> (string code, CloseloopDb db, Insights.TextInsights insights, CancellationToken ct) =>
            {
                code = code.ToLowerInvariant();
                var cause = await db.RootCauses.FirstOrDefaultAsync(r => r.Code == code, ct);
                if (cause is null)
                {
                    return TypedResults.NotFound();
                }
                if (await db.RootCauses.AnyAsync(r => r.Parent == code, ct))
                {
                    return Problems.Conflict($"'{code}' has child causes; delete or move them first.");
                }
                db.RootCauses.Remove(cause);
                await db.SaveChangesAsync(ct);
                await insights.SyncTaxonomyAsync(db, ct);
                return TypedResults.NoContent();
            })
            .RequireAuthorization(Policies.Admin)
            .WithName("DeleteRootCause").WithSummary("Remove a cause that has no children; alerts that named it keep the code.");
        return routes;
    }

    private static async Task<Dictionary<string, string[]>> ValidateAsync(CloseloopDb db, RootCauseInput input, string? code, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var normalized = code?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(normalized) || normalized.Length > 100 || !normalized.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            errors["code"] = ["is required: lower-case letters, digits, '.', '-' and '_', such as process.long-wait"];
        }
        if (string.IsNullOrWhiteSpace(input.Name))
        {
            errors["name"] = ["is required"];
        }
        if (string.IsNullOrWhiteSpace(input.Department))
        {
            errors["department"] = ["is required: the department that owns the cause"];
        }
        if (input.Parent is { } parentText)
        {
            var parent = parentText.Trim().ToLowerInvariant();
            var parentCause = await db.RootCauses.AsNoTracking().FirstOrDefaultAsync(r => r.Code == parent, ct);
            if (parentCause is null)
            {
                errors["parent"] = [$"'{parent}' is not a cause"];
            }
            else if (parentCause.Parent is not null || parent == normalized)
            {
                errors["parent"] = ["must be a top-level cause: the taxonomy has two levels"];
            }
        }
        return errors;
    }
}
