using System.Text.Json;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Alerts;

public sealed class AlertRule
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public bool Enabled { get; set; }
    public required string Definition { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }
}

public sealed record CompiledRule(long Id, AlertRuleDefinition Definition);

/// <summary>
/// The enabled rules, compiled once and shared by every ingest. Reloaded when this process changes a rule,
/// and at least every few seconds so that a change made by another process is picked up.
/// </summary>
public sealed class AlertRuleCache(IServiceScopeFactory scopes, TimeProvider time)
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);
    private volatile IReadOnlyList<CompiledRule>? _rules;
    private DateTimeOffset _loadedAt;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async ValueTask<IReadOnlyList<CompiledRule>> GetAsync(CancellationToken cancellationToken)
    {
        var rules = _rules;
        if (rules is not null && time.GetUtcNow() - _loadedAt < MaxAge)
        {
            return rules;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_rules is not null && time.GetUtcNow() - _loadedAt < MaxAge)
            {
                return _rules;
            }
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
            var rows = await db.AlertRules.AsNoTracking().Where(r => r.DeletedAt == null && r.Enabled).OrderBy(r => r.Id).ToListAsync(cancellationToken);
            var compiled = new List<CompiledRule>(rows.Count);
            foreach (var row in rows)
            {
                using var document = JsonDocument.Parse(row.Definition);
                var definition = AlertRuleDefinition.Parse(document.RootElement, new Dictionary<string, string[]>());
                if (definition is not null)
                {
                    compiled.Add(new CompiledRule(row.Id, definition));
                }
            }
            _rules = compiled;
            _loadedAt = time.GetUtcNow();
            return compiled;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Invalidate() => _rules = null;

    /// <summary>The definition of one rule, enabled or not, for the escalation chain of its alerts.</summary>
    public static async Task<AlertRuleDefinition?> LoadAsync(CloseloopDb db, long ruleId, CancellationToken cancellationToken)
    {
        var row = await db.AlertRules.AsNoTracking().FirstOrDefaultAsync(r => r.Id == ruleId, cancellationToken);
        if (row is null)
        {
            return null;
        }
        using var document = JsonDocument.Parse(row.Definition);
        return AlertRuleDefinition.Parse(document.RootElement, new Dictionary<string, string[]>());
    }
}
