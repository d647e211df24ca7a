using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Closeloop.Data;

/// <summary>A text field holding U+0000, which PostgreSQL cannot store and SQLite would keep silently.</summary>
public sealed class NulTextException(string field) : Exception($"The field '{field}' contains the NUL character (U+0000).")
{
    /// <summary>The field as the API names it: the entity property in camelCase.</summary>
    public string Field { get; } = field;
}

/// <summary>
/// Refuses any text with a NUL character before it is saved, whatever endpoint or page wrote it: PostgreSQL answers
/// such a string with an error (22021) that would surface as a 500, and on SQLite it would be stored and sent on to
/// agents' screens, e-mails and webhooks. Ingest refuses control characters itself, with its own field names; this
/// holds for everything else written through the DbContext (notes, broadcasts, users, keys, sites, rules, causes…).
/// </summary>
public sealed class NulTextGuard : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Check(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Check(eventData.Context);
        return ValueTask.FromResult(result);
    }

    private static void Check(DbContext? context)
    {
        if (context is null)
        {
            return;
        }
        foreach (var entry in context.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified))
            {
                continue;
            }
            foreach (var property in entry.Properties)
            {
                if (property.CurrentValue is string text && text.Contains('\0', StringComparison.Ordinal) && (entry.State == EntityState.Added || property.IsModified))
                {
                    throw new NulTextException(JsonName(property));
                }
            }
        }
    }

    private static string JsonName(PropertyEntry property) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(property.Metadata.Name);
}
