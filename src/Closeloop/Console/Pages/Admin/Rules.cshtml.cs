using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Closeloop.Alerts;
using Closeloop.Data;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record RuleRow(long Id, string Name, bool Enabled, string Condition, string Owner, string Deadline, string Escalation);

/// <summary>The rule editor's fields: the simple parts of a rule as inputs, the condition and the escalation chain as JSON.</summary>
public sealed class RuleForm
{
    public long? Id { get; set; }
    public string? Name { get; set; }
    public bool Enabled { get; set; } = true;
    public string OwnerKind { get; set; } = "teamSupervisor";
    public string? OwnerName { get; set; }
    public string? Deadline { get; set; } = "PT2H";
    public string Clock { get; set; } = AlertRuleDefinition.Clock24x7;
    public string? WarnBefore { get; set; }
    public string? When { get; set; } = """{"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]}""";
    public string? Escalation { get; set; }
}

/// <summary>
/// Alert rules: list, create, edit, switch on and off, delete, and preview against last week's responses. Saving
/// and previewing go through <see cref="AlertRuleStore"/> and <see cref="AlertRulePreview"/>, as the API does.
/// </summary>
public sealed class RulesModel(CloseloopDb db, TimeProvider time, AlertRuleCache cache) : PageModel
{
    public List<RuleRow> Rules { get; private set; } = [];

    [BindProperty]
    public RuleForm Form { get; set; } = new();

    public Dictionary<string, string[]> Errors { get; private set; } = new(StringComparer.Ordinal);

    public RulePreview? Preview { get; private set; }

    public async Task<IActionResult> OnGetAsync(long? edit, CancellationToken ct)
    {
        if (edit is { } id)
        {
            var rule = await db.AlertRules.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null, ct);
            if (rule is null)
            {
                return NotFound();
            }
            Form = FormOf(rule);
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostSaveAsync(CancellationToken ct)
    {
        var json = Compose();
        if (Errors.Count > 0)
        {
            CollectRuleErrors(json);
        }
        else
        {
            using var document = JsonDocument.Parse(json.ToJsonString());
            var saved = await AlertRuleStore.SaveAsync(db, document.RootElement, Form.Id, time.GetUtcNow(), cache, ct);
            if (saved.NotFound)
            {
                return NotFound();
            }
            if (saved.Errors is null)
            {
                return Redirect("/admin/rules");
            }
            Errors = saved.Errors;
        }
        return await FailAsync(ct);
    }

    public async Task<IActionResult> OnPostPreviewAsync(CancellationToken ct)
    {
        var json = Compose();
        if (Errors.Count > 0)
        {
            CollectRuleErrors(json);
        }
        else
        {
            using var document = JsonDocument.Parse(json.ToJsonString());
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (AlertRuleDefinition.Parse(document.RootElement, errors) is { } definition)
            {
                Preview = await AlertRulePreview.RunAsync(db, definition, time.GetUtcNow(), ct);
                await LoadAsync(ct);
                return Page();
            }
            Errors = errors;
        }
        return await FailAsync(ct);
    }

    public async Task<IActionResult> OnPostEnabledAsync(long id, bool enabled, CancellationToken ct)
    {
        var saved = await AlertRuleStore.SetEnabledAsync(db, id, enabled, time.GetUtcNow(), cache, ct);
        if (saved.NotFound)
        {
            return NotFound();
        }
        if (saved.Errors is { } errors)
        {
            Errors = errors;
            return await FailAsync(ct);
        }
        return Redirect("/admin/rules");
    }

    public async Task<IActionResult> OnPostDeleteAsync(long id, CancellationToken ct) =>
        await AlertRuleStore.DeleteAsync(db, id, time.GetUtcNow(), cache, ct) ? Redirect("/admin/rules") : NotFound();

    /// <summary>The messages for one input: its own key and every JSON path under it (when.all[0].field belongs to when).</summary>
    public IEnumerable<string> ErrorsFor(string field) => Errors
        .Where(e => e.Key == field || e.Key.StartsWith(field + ".", StringComparison.Ordinal) || e.Key.StartsWith(field + "[", StringComparison.Ordinal))
        .SelectMany(e => e.Value.Select(m => e.Key == field ? m : $"{e.Key}: {m}"));

    private JsonObject Compose()
    {
        var json = new JsonObject
        {
            ["name"] = Form.Name,
            ["enabled"] = Form.Enabled,
            ["deadline"] = Blank(Form.Deadline),
            ["clock"] = Form.Clock,
        };
        var owner = new JsonObject { ["kind"] = Form.OwnerKind };
        if (Form.OwnerKind == "pool")
        {
            owner["name"] = Blank(Form.OwnerName);
        }
        else if (Form.OwnerKind == "user")
        {
            owner["email"] = Blank(Form.OwnerName);
        }
        json["owner"] = owner;
        if (Blank(Form.WarnBefore) is { } warn)
        {
            json["warnBefore"] = warn;
        }
        if (ParseJson(Form.When, "when") is { } when)
        {
            json["when"] = when;
        }
        if (!string.IsNullOrWhiteSpace(Form.Escalation) && ParseJson(Form.Escalation, "escalation") is { } escalation)
        {
            json["escalation"] = escalation;
        }
        return json;
    }

    /// <summary>When a JSON box does not parse, the rest of the rule is still checked, so every wrong field is named at once.</summary>
    private void CollectRuleErrors(JsonObject json)
    {
        var syntax = Errors;
        using var document = JsonDocument.Parse(json.ToJsonString());
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        AlertRuleDefinition.Parse(document.RootElement, errors);
        foreach (var field in syntax.Keys)
        {
            foreach (var key in errors.Keys.Where(k => k == field || k.StartsWith(field + ".", StringComparison.Ordinal) || k.StartsWith(field + "[", StringComparison.Ordinal)).ToList())
            {
                errors.Remove(key);
            }
        }
        Errors = errors.Concat(syntax).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
    }

    private JsonNode? ParseJson(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            Errors[field] = [$"is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})"];
            return null;
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private async Task<IActionResult> FailAsync(CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var rules = await db.AlertRules.AsNoTracking().Where(r => r.DeletedAt == null).OrderBy(r => r.Id).ToListAsync(ct);
        Rules = rules.Select(r =>
        {
            using var document = JsonDocument.Parse(r.Definition);
            var root = document.RootElement;
            var deadline = root.TryGetProperty("deadline", out var d) ? d.GetString() ?? "" : "";
            var clock = root.TryGetProperty("clock", out var c) ? c.GetString() : null;
            var warn = root.TryGetProperty("warnBefore", out var w) && w.ValueKind == JsonValueKind.String ? $", warn {w.GetString()} before" : "";
            var escalation = root.TryGetProperty("escalation", out var e) && e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0
                ? string.Join(" → ", e.EnumerateArray().Select(s => $"after {Text(s, "after")}: {OwnerText(s.TryGetProperty("to", out var to) ? to : default)}"))
                : "none";
            return new RuleRow(r.Id, r.Name, r.Enabled, root.TryGetProperty("when", out var when) ? Describe(when) : "",
                OwnerText(root.TryGetProperty("owner", out var o) ? o : default), $"{deadline} ({(clock == AlertRuleDefinition.ClockBusiness ? "business hours" : "24x7")}){warn}", escalation);
        }).ToList();
    }

    private static RuleForm FormOf(AlertRule rule)
    {
        using var document = JsonDocument.Parse(rule.Definition);
        var root = document.RootElement;
        var owner = root.TryGetProperty("owner", out var o) && o.ValueKind == JsonValueKind.Object ? o : default;
        return new RuleForm
        {
            Id = rule.Id,
            Name = rule.Name,
            Enabled = rule.Enabled,
            OwnerKind = Text(owner, "kind") ?? "teamSupervisor",
            OwnerName = Text(owner, "name") ?? Text(owner, "email"),
            Deadline = Text(root, "deadline"),
            Clock = Text(root, "clock") ?? AlertRuleDefinition.Clock24x7,
            WarnBefore = Text(root, "warnBefore"),
            When = root.TryGetProperty("when", out var when) ? Indented(when) : null,
            Escalation = root.TryGetProperty("escalation", out var e) && e.ValueKind == JsonValueKind.Array ? Indented(e) : null,
        };
    }

    private static string Indented(JsonElement element) => JsonSerializer.Serialize(element, IndentedOptions);

    private static readonly JsonSerializerOptions IndentedOptions = new() { WriteIndented = true };

    private static string? Text(JsonElement parent, string property) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static string OwnerText(JsonElement owner) => Text(owner, "kind") switch
    {
        "pool" => $"pool {Text(owner, "name")}",
        "user" => Text(owner, "email") ?? "a person",
        "teamSupervisor" => "team supervisor",
        "siteManager" => "site manager",
        "headOfService" => "head of service",
        var other => other ?? "",
    };

    /// <summary>A condition tree read aloud: "metric = csat and score ≤ 2".</summary>
    public static string Describe(JsonElement node)
    {
        if (node.ValueKind != JsonValueKind.Object)
        {
            return "";
        }
        if (node.TryGetProperty("all", out var all) && all.ValueKind == JsonValueKind.Array)
        {
            return Group(all, " and ");
        }
        if (node.TryGetProperty("any", out var any) && any.ValueKind == JsonValueKind.Array)
        {
            return Group(any, " or ");
        }
        if (node.TryGetProperty("not", out var inner))
        {
            return $"not ({Describe(inner)})";
        }
        var op = Text(node, "op") switch
        {
            "eq" => "=",
            "neq" => "≠",
            "lt" => "<",
            "lte" => "≤",
            "gt" => ">",
            "gte" => "≥",
            "containsAny" => "contains any of",
            "containsAll" => "contains all of",
            "notContains" => "does not contain",
            "startsWith" => "starts with",
            var other => other ?? "?",
        };
        return $"{Text(node, "field")} {op} {Value(node.TryGetProperty("value", out var v) ? v : default)}";
    }

    private static string Group(JsonElement items, string joiner)
    {
        var parts = items.EnumerateArray().Select(child => child.TryGetProperty("field", out _) ? Describe(child) : $"({Describe(child)})").ToList();
        return string.Join(joiner, parts);
    }

    private static string Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Array => "[" + string.Join(", ", value.EnumerateArray().Select(Value)) + "]",
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "",
    };

    public static string When(DateTimeOffset at) => at.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
