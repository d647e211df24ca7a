using System.Text.Json;
using System.Text.Json.Nodes;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Alerts;

/// <summary>What saving a rule came to: the saved rule, the fields that were wrong, or no such rule.</summary>
public sealed record AlertRuleSave(AlertRule? Rule, Dictionary<string, string[]>? Errors)
{
    public bool NotFound => Rule is null && Errors is null;
}

/// <summary>
/// Saving, switching and deleting alert rules, shared by the HTTP API and the console's rules page so that both
/// validate a rule the same way and both refresh the engine's cache.
/// </summary>
public static class AlertRuleStore
{
    /// <summary>Validates <paramref name="root"/> as a rule and creates it (<paramref name="id"/> null) or replaces rule <paramref name="id"/>.</summary>
    public static async Task<AlertRuleSave> SaveAsync(CloseloopDb db, JsonElement root, long? id, DateTimeOffset now, AlertRuleCache cache, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var definition = AlertRuleDefinition.Parse(root, errors);
        if (definition is null)
        {
            return new AlertRuleSave(null, errors);
        }
        // A rule that is off raises nothing, so it can still be switched off (or kept) after its pool was emptied.
        if (definition.Enabled)
        {
            await CheckOwnersAsync(db, definition, errors, ct);
            if (errors.Count > 0)
            {
                return new AlertRuleSave(null, errors);
            }
        }
        var json = definition.Json;
        json.Remove("id");
        json.Remove("createdAt");
        json.Remove("updatedAt");
        json["enabled"] = definition.Enabled;
        AlertRule? rule;
        if (id is null)
        {
            rule = new AlertRule { Name = definition.Name, Enabled = definition.Enabled, Definition = json.ToJsonString(), CreatedAt = now, UpdatedAt = now };
            db.AlertRules.Add(rule);
        }
        else
        {
            rule = await db.AlertRules.FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null, ct);
            if (rule is null)
            {
                return new AlertRuleSave(null, null);
            }
            rule.Name = definition.Name;
            rule.Enabled = definition.Enabled;
            rule.Definition = json.ToJsonString();
            rule.UpdatedAt = now;
        }
        await db.SaveChangesAsync(ct);
        cache.Invalidate();
        return new AlertRuleSave(rule, null);
    }

    /// <summary>
    /// Names each owner of the rule (its own and every escalation level's) that is a user or pool nobody answers to:
    /// an unknown or disabled user, or a pool without an enabled member. Its alerts would go to no one.
    /// </summary>
    private static async Task CheckOwnersAsync(CloseloopDb db, AlertRuleDefinition definition, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        var owners = new List<(string Field, OwnerSpec Spec)> { ("owner", definition.Owner) };
        owners.AddRange(definition.Escalation.Select((step, i) => ($"escalation[{i}].to", step.To)));
        foreach (var (field, spec) in owners)
        {
            if (spec.Kind == "user" && await db.Users.Where(u => u.Email == spec.Name && !u.Disabled).Select(u => u.Role).FirstOrDefaultAsync(ct) is var role
                && (role is null || !OwnerResolver.OwnerRoles.Contains(role)))
            {
                errors[field] = [role is null
                    ? $"there is no user {spec.Name} (POST /api/v1/users creates one)"
                    : $"{spec.Name} is a {role}, who may not work alerts"];
            }
            else if (spec.Kind == "pool" && !await db.PoolMembers.AnyAsync(p => p.Pool == spec.Name && db.Users.Any(u => u.Id == p.UserId && !u.Disabled), ct))
            {
                errors[field] = [$"there is no pool '{spec.Name}' (PUT /api/v1/pools/{spec.Name} with its members creates it)"];
            }
        }
    }

    /// <summary>Switches a rule on or off, keeping the rest of its definition.</summary>
    public static async Task<AlertRuleSave> SetEnabledAsync(CloseloopDb db, long id, bool enabled, DateTimeOffset now, AlertRuleCache cache, CancellationToken ct)
    {
        var definition = await db.AlertRules.AsNoTracking().Where(r => r.Id == id && r.DeletedAt == null).Select(r => r.Definition).FirstOrDefaultAsync(ct);
        if (definition is null)
        {
            return new AlertRuleSave(null, null);
        }
        var json = JsonNode.Parse(definition)!.AsObject();
        json["enabled"] = enabled;
        using var document = JsonDocument.Parse(json.ToJsonString());
        return await SaveAsync(db, document.RootElement, id, now, cache, ct);
    }

    /// <summary>Deletes a rule: it stops matching at once, and is kept (not erased) because the alerts it raised still name it.</summary>
    public static async Task<bool> DeleteAsync(CloseloopDb db, long id, DateTimeOffset now, AlertRuleCache cache, CancellationToken ct)
    {
        var rule = await db.AlertRules.FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null, ct);
        if (rule is null)
        {
            return false;
        }
        rule.DeletedAt = now;
        rule.Enabled = false;
        await db.SaveChangesAsync(ct);
        cache.Invalidate();
        return true;
    }
}
