using Closeloop.Data;
using Closeloop.Insights;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.RootCauses;

/// <summary>What a taxonomy change came to: the cause (null once deleted), the bad fields, a conflict, or no such cause.</summary>
public sealed record TaxonomyChange(RootCause? Cause, Dictionary<string, string[]>? Errors = null, string? Conflict = null, bool NotFound = false);

/// <summary>
/// Adding, changing and deleting causes, shared by the HTTP API and the console's taxonomy page, so both validate
/// the same way and both keep the classifier's list of causes in step.
/// </summary>
public static class RootCauseTaxonomy
{
    public static RootCauseView View(RootCause cause) => new(cause.Code, cause.Name, cause.Parent, cause.Department);

    /// <param name="typeErrors">
    /// The fields of the request that were not even of the right type (left null in <paramref name="input"/>): named
    /// beside the rest's errors, so that one answer names every bad field.
    /// </param>
    public static async Task<TaxonomyChange> CreateAsync(CloseloopDb db, TextInsights insights, RootCauseInput input, DateTimeOffset now, CancellationToken ct,
        Dictionary<string, string[]>? typeErrors = null)
    {
        var errors = Merge(await ValidateAsync(db, input, input.Code, ct), typeErrors);
        if (errors.Count > 0)
        {
            return new TaxonomyChange(null, errors);
        }
        var code = input.Code!.Trim().ToLowerInvariant();
        if (await db.RootCauses.AnyAsync(r => r.Code == code, ct))
        {
            return new TaxonomyChange(null, Conflict: $"A cause with code '{code}' already exists; PUT /api/v1/root-causes/{code} changes it.");
        }
        var cause = new RootCause { Code = code, Name = input.Name!.Trim(), Parent = input.Parent?.Trim().ToLowerInvariant(), Department = input.Department!.Trim(), CreatedAt = now };
        db.RootCauses.Add(cause);
        await db.SaveChangesAsync(ct);
        await insights.SyncTaxonomyAsync(db, ct);
        return new TaxonomyChange(cause);
    }

    /// <summary>
    /// Changes the fields given; a field left null keeps its value, except the parent when <paramref name="parentGiven"/>:
    /// then null or blank makes the cause a category of its own (the API's explicit <c>"parent": null</c>, the
    /// console's "none").
    /// </summary>
    public static async Task<TaxonomyChange> UpdateAsync(CloseloopDb db, string code, RootCauseInput input, CancellationToken ct, bool parentGiven = false,
        Dictionary<string, string[]>? typeErrors = null)
    {
        code = code.ToLowerInvariant();
        var cause = await db.RootCauses.FirstOrDefaultAsync(r => r.Code == code, ct);
        if (cause is null)
        {
            return new TaxonomyChange(null, NotFound: true);
        }
        var newParent = string.IsNullOrWhiteSpace(input.Parent) ? null : input.Parent;
        var errors = await ValidateAsync(db, input with { Name = input.Name ?? cause.Name, Department = input.Department ?? cause.Department, Parent = newParent }, code, ct);
        if (newParent is not null && !errors.ContainsKey("parent") && await db.RootCauses.AnyAsync(r => r.Parent == code, ct))
        {
            // Its children would be a third level.
            errors["parent"] = ["a category with causes under it stays at the top: the taxonomy has two levels"];
        }
        errors = Merge(errors, typeErrors);
        if (errors.Count > 0)
        {
            return new TaxonomyChange(null, errors);
        }
        cause.Name = input.Name?.Trim() ?? cause.Name;
        cause.Department = input.Department?.Trim() ?? cause.Department;
        cause.Parent = newParent?.Trim().ToLowerInvariant() ?? (parentGiven ? null : cause.Parent);
        await db.SaveChangesAsync(ct);
        return new TaxonomyChange(cause);
    }

    public static async Task<TaxonomyChange> DeleteAsync(CloseloopDb db, TextInsights insights, string code, CancellationToken ct)
    {
        code = code.ToLowerInvariant();
        var cause = await db.RootCauses.FirstOrDefaultAsync(r => r.Code == code, ct);
        if (cause is null)
        {
            return new TaxonomyChange(null, NotFound: true);
        }
        if (await db.RootCauses.AnyAsync(r => r.Parent == code, ct))
        {
            return new TaxonomyChange(null, Conflict: $"'{code}' has child causes; delete or move them first.");
        }
        // A cause that records carry stays: deleted, it would leave those records with a code no report can name or
        // route to a department. It can be renamed, moved or given to another department instead.
        if (await db.Responses.AnyAsync(r => r.RootCause == code, ct) || await db.Contacts.AnyAsync(c => c.RootCause == code, ct)
            || await db.Alerts.AnyAsync(a => a.RootCause == code, ct))
        {
            return new TaxonomyChange(null, Conflict: $"'{code}' is the cause of stored responses, contacts or alerts; rename it or change its department instead of deleting it.");
        }
        db.RootCauses.Remove(cause);
        await db.SaveChangesAsync(ct);
        await insights.SyncTaxonomyAsync(db, ct);
        return new TaxonomyChange(null);
    }

    /// <summary>A field of the wrong type was read as null, so its own message replaces what null would have said.</summary>
    private static Dictionary<string, string[]> Merge(Dictionary<string, string[]> errors, Dictionary<string, string[]>? typeErrors)
    {
        foreach (var (field, messages) in typeErrors ?? [])
        {
            errors[field] = messages;
        }
        return errors;
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
