using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using Closeloop.Contacts;
using Closeloop.Responses;

namespace Closeloop.Alerts;

/// <summary>The facts a rule is evaluated against: one response or one contact, with what is known around it.</summary>
public sealed record AlertFacts(
    string Record, string? Metric, int? Score, double? Sentiment, string? Text, IReadOnlyList<string> Signals, string? Tier,
    double? RepeatGapDays, bool? Resolved, string Channel, string? Site, string? Team, string? Agent, string? Queue, string? Reason, string? RootCause)
{
    /// <summary>
    /// The facts of a response, from what is stored with it and with its contact. One place, so a rule evaluated on
    /// ingest and a rule previewed against stored responses see the same values (normalised text, gap in days).
    /// </summary>
    public static AlertFacts ForResponse(string metric, int score, double? sentiment, string? comment, IReadOnlyList<string> signals, string? tier,
        long? repeatGapMs, bool? resolved, string channel, string? site, string? team, string? agent, string? queue, string? reason, string? rootCause) =>
        new("response", metric, score, sentiment, comment is null ? null : AlertRuleDefinition.NormalizeText(comment), signals, tier,
            repeatGapMs is null ? null : repeatGapMs / 86_400_000d, resolved, channel, site, team, agent, queue, reason, rootCause);

    /// <summary>The facts of a contact, from what it carries: a contact arriving, or a stored one that became a repeat.</summary>
    public static AlertFacts ForContact(double? sentiment, string? summary, IReadOnlyList<string> signals, string? tier, long? repeatGapMs, bool? resolved,
        string channel, string? site, string? team, string? agent, string? queue, string? reason, string? rootCause) =>
        new("contact", null, null, sentiment, summary is null ? null : AlertRuleDefinition.NormalizeText(summary), signals, tier,
            repeatGapMs is null ? null : repeatGapMs / 86_400_000d, resolved, channel, site, team, agent, queue, reason, rootCause);
}

public sealed record OwnerSpec(string Kind, string? Name);

public sealed record EscalationStep(TimeSpan After, OwnerSpec To);

/// <summary>
/// A rule as saved: a condition tree (all / any / not over field comparisons), an owner, a deadline counted
/// around the clock or in business hours, a warning lead time and an escalation chain. Parsing validates
/// everything and refuses a rule that names an unknown field or can never fire.
/// </summary>
public sealed partial class AlertRuleDefinition
{
    public const string Clock24x7 = "24x7";
    public const string ClockBusiness = "business";
    public static readonly string[] OwnerKinds = ["pool", "user", "teamSupervisor", "siteManager", "headOfService"];

    private static readonly Dictionary<string, FieldSpec> Fields = new(StringComparer.Ordinal)
    {
        ["record"] = FieldSpec.Enum(["response", "contact"]),
        ["metric"] = FieldSpec.Enum(["csat", "nps", "ces"]),
        ["score"] = FieldSpec.Number(0, 10),
        ["npsCategory"] = FieldSpec.Enum(["detractor", "passive", "promoter"]),
        ["sentiment"] = FieldSpec.Number(-1, 1),
        ["comment"] = FieldSpec.Text(),
        ["signal"] = FieldSpec.Enum(["churn_threat", "legal_threat", "profanity", "urgency"]),
        ["customerTier"] = FieldSpec.Code(),
        ["repeatContactWithinDays"] = FieldSpec.Number(0, 365),
        ["repeatContact"] = FieldSpec.Bool(),
        ["resolved"] = FieldSpec.Bool(),
        ["channel"] = FieldSpec.Enum([.. Channels.All]),
        ["site"] = FieldSpec.Code(),
        ["team"] = FieldSpec.Code(),
        ["agent"] = FieldSpec.Code(),
        ["queue"] = FieldSpec.Code(),
        ["reason"] = FieldSpec.Code(),
        ["rootCause"] = FieldSpec.Code(),
    };

    private AlertRuleDefinition(string name, bool enabled, JsonObject json, Func<AlertFacts, bool> matches, OwnerSpec owner, TimeSpan deadline, string clock,
        TimeSpan? warnBefore, IReadOnlyList<EscalationStep> escalation)
    {
        Name = name;
        Enabled = enabled;
        Json = json;
        Matches = matches;
        Owner = owner;
        Deadline = deadline;
        Clock = clock;
        WarnBefore = warnBefore;
        Escalation = escalation;
    }

    public string Name { get; }
    public bool Enabled { get; }
    public JsonObject Json { get; }
    public Func<AlertFacts, bool> Matches { get; }
    public OwnerSpec Owner { get; }
    public TimeSpan Deadline { get; }
    public string Clock { get; }
    public TimeSpan? WarnBefore { get; }
    public IReadOnlyList<EscalationStep> Escalation { get; }

    private static readonly string[] TopLevelFields =
        ["name", "when", "owner", "deadline", "clock", "warnBefore", "escalation", "enabled", "condition", "id", "createdAt", "updatedAt"];

    /// <summary>Parses and validates a rule; on failure <paramref name="errors"/> names each bad field by its JSON path.</summary>
    public static AlertRuleDefinition? Parse(JsonElement root, Dictionary<string, string[]> errors)
    {
        void Error(string path, string message) => errors[path] = [message];
        if (root.ValueKind != JsonValueKind.Object)
        {
            Error("body", "must be a JSON object");
            return null;
        }
        // A misspelt field would be stored and ignored ("escalations" leaves a rule with no escalation at all), so a field
        // the rule does not have is named; those a GET shows (id, createdAt…) may come back in a PUT of what was read.
        foreach (var property in root.EnumerateObject())
        {
            if (!TopLevelFields.Contains(property.Name))
            {
                Error(property.Name, $"is not a field of a rule (they are {string.Join(", ", TopLevelFields.Take(9))})");
            }
        }
        var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()!.Trim() : null;
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            Error("name", "is required (at most 200 characters)");
        }
        var enabled = true;
        if (root.TryGetProperty("enabled", out var e))
        {
            if (e.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                enabled = e.GetBoolean();
            }
            else
            {
                Error("enabled", "must be true or false");
            }
        }
        Func<AlertFacts, bool>? matches = null;
        // "condition" is accepted for "when": it is the word most rule APIs use, and an integrator should not
        // get a 400 for a synonym.
        if (!root.TryGetProperty("when", out var when) && !root.TryGetProperty("condition", out when))
        {
            Error("when", "is required: a condition such as {\"all\": [{\"field\": \"score\", \"op\": \"lte\", \"value\": 2}]}");
        }
        else
        {
            matches = CompileCondition(when, "when", errors, out var canFire);
            if (matches is not null && !canFire && !errors.Keys.Any(k => k.StartsWith("when", StringComparison.Ordinal)))
            {
                Error("when", "can never match: its conditions contradict each other or fall outside the scales");
            }
        }
        // Without an owner the alert goes to the supervisor of the agent's team, the default PRODUCT.md gives first;
        // OwnerResolver climbs to the site manager and the head of service where there is none.
        var owner = root.TryGetProperty("owner", out var o) && o.ValueKind != JsonValueKind.Null
            ? ParseOwner(root, "owner", errors, required: true)
            : new OwnerSpec("teamSupervisor", null);
        var deadline = ParseDuration(root, "deadline", errors, required: true);
        var clock = Clock24x7;
        if (root.TryGetProperty("clock", out var c))
        {
            clock = c.ValueKind == JsonValueKind.String ? c.GetString()!.Trim().ToLowerInvariant() : "";
            clock = clock switch
            {
                "24x7" or "24/7" or "always" => Clock24x7,
                "business" or "businesshours" or "business_hours" => ClockBusiness,
                _ => "",
            };
            if (clock.Length == 0)
            {
                Error("clock", "must be \"24x7\" or \"business\"");
            }
        }
        var warnBefore = ParseDuration(root, "warnBefore", errors, required: false);
        var escalation = new List<EscalationStep>();
        if (root.TryGetProperty("escalation", out var chain) && chain.ValueKind != JsonValueKind.Null)
        {
            if (chain.ValueKind != JsonValueKind.Array)
            {
                Error("escalation", "must be a list of {\"after\": \"PT1H\", \"to\": {\"kind\": \"siteManager\"}}");
            }
            else
            {
                var i = 0;
                foreach (var step in chain.EnumerateArray())
                {
                    var path = $"escalation[{i++}]";
                    if (step.ValueKind != JsonValueKind.Object)
                    {
                        Error(path, "must be an object with after and to");
                        continue;
                    }
                    var after = ParseDuration(step, "after", errors, required: true, path + ".");
                    var to = ParseOwner(step, "to", errors, required: true, path + ".");
                    if (after is not null && to is not null)
                    {
                        escalation.Add(new EscalationStep(after.Value, to));
                    }
                }
            }
        }
        if (errors.Count > 0 || matches is null || owner is null || deadline is null)
        {
            return null;
        }
        var json = JsonNode.Parse(root.GetRawText())!.AsObject();
        json["clock"] = clock;
        // What was understood is what is stored and shown: "when" and the canonical owner object, whatever form they came in.
        if (!json.ContainsKey("when") && json.Remove("condition", out var condition))
        {
            json["when"] = condition;
        }
        CanonicalizeOps(json["when"]);
        json["owner"] = owner.Name is null
            ? new JsonObject { ["kind"] = owner.Kind }
            : new JsonObject { ["kind"] = owner.Kind, [owner.Kind == "pool" ? "name" : "email"] = owner.Name };
        return new AlertRuleDefinition(name!, enabled, json, matches, owner, deadline.Value, clock, warnBefore, escalation);
    }

    private static OwnerSpec? ParseOwner(JsonElement parent, string property, Dictionary<string, string[]> errors, bool required, string prefix = "")
    {
        if (!parent.TryGetProperty(property, out var owner) || owner.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors[prefix + property] = [$"is required: {{\"kind\": one of {string.Join(", ", OwnerKinds)}}}"];
            }
            return null;
        }
        if (owner.ValueKind == JsonValueKind.String)
        {
            // The short forms: "teamSupervisor", "pool:recovery", "user:ann@example.com" or just an e-mail address.
            var text = owner.GetString()!.Trim();
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            var (head, tail) = colon < 0 ? (text, "") : (text[..colon], text[(colon + 1)..].Trim().ToLowerInvariant());
            var named = OwnerKinds.FirstOrDefault(o => string.Equals(o, head, StringComparison.OrdinalIgnoreCase));
            if (named is "pool" or "user" && tail.Length > 0)
            {
                return new OwnerSpec(named, tail);
            }
            if (named is not null and not "pool" and not "user" && colon < 0)
            {
                return new OwnerSpec(named, null);
            }
            if (colon < 0 && text.Contains('@', StringComparison.Ordinal))
            {
                return new OwnerSpec("user", text.ToLowerInvariant());
            }
            errors[prefix + property] = [$"must be {{\"kind\": one of {string.Join(", ", OwnerKinds)}}}, \"pool:NAME\", \"user:EMAIL\" or an e-mail address"];
            return null;
        }
        var kind = owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        var match = OwnerKinds.FirstOrDefault(o => string.Equals(o, kind, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            errors[prefix + property + ".kind"] = [$"must be one of {string.Join(", ", OwnerKinds)}"];
            return null;
        }
        string? name = null;
        if (match is "pool" or "user")
        {
            var key = match == "pool" ? "name" : "email";
            name = owner.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!.Trim().ToLowerInvariant() : null;
            if (string.IsNullOrEmpty(name))
            {
                errors[prefix + property + "." + key] = [$"is required for an owner of kind {match}"];
                return null;
            }
        }
        return new OwnerSpec(match, name);
    }

    private static TimeSpan? ParseDuration(JsonElement parent, string property, Dictionary<string, string[]> errors, bool required, string prefix = "")
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors[prefix + property] = ["is required: an ISO 8601 duration such as PT2H"];
            }
            return null;
        }
        if (value.ValueKind == JsonValueKind.String && TryDuration(value.GetString()!, out var span) && span > TimeSpan.Zero && span <= TimeSpan.FromDays(366))
        {
            return span;
        }
        errors[prefix + property] = ["must be a positive ISO 8601 duration such as PT2H, PT30M or P1D"];
        return null;
    }

    /// <summary>
    /// Reads an ISO 8601 duration. XmlConvert reads the xs:duration subset (PT2H, P1DT30M, PT0.5S; a year is 365 days
    /// and a month 30, as there); what ISO 8601 allows beyond it, weeks (P2W) and a fraction on the smallest unit
    /// (PT1.5H, PT2,5M), is read by <see cref="TryIsoDuration"/>.
    /// </summary>
    public static bool TryDuration(string text, out TimeSpan span)
    {
        try
        {
            span = XmlConvert.ToTimeSpan(text.Trim());
            return true;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            return TryIsoDuration(text.Trim(), out span);
        }
    }

    private static bool TryIsoDuration(string text, out TimeSpan span)
    {
        span = default;
        var match = IsoDuration().Match(text);
        if (!match.Success || match.Groups["n"].Captures.Count == 0)
        {
            return false;
        }
        // Only the smallest unit given may carry a fraction (ISO 8601, 4.4.3.2).
        var numbers = match.Groups["n"].Captures;
        for (var i = 0; i < numbers.Count - 1; i++)
        {
            if (numbers[i].Value.IndexOfAny(['.', ',']) >= 0)
            {
                return false;
            }
        }
        var ticks = 0m;
        string[] units = ["Y", "M", "W", "D", "H", "MT", "S"];
        decimal[] unitTicks = [365m * TimeSpan.TicksPerDay, 30m * TimeSpan.TicksPerDay, 7m * TimeSpan.TicksPerDay, TimeSpan.TicksPerDay, TimeSpan.TicksPerHour, TimeSpan.TicksPerMinute, TimeSpan.TicksPerSecond];
        for (var u = 0; u < units.Length; u++)
        {
            var group = match.Groups[units[u]];
            if (group.Success)
            {
                if (!decimal.TryParse(group.Value.Replace(',', '.'), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
                    || amount > TimeSpan.MaxValue.Ticks / unitTicks[u])
                {
                    return false;
                }
                ticks += amount * unitTicks[u];
                if (ticks > TimeSpan.MaxValue.Ticks)
                {
                    return false;
                }
            }
        }
        span = TimeSpan.FromTicks((long)decimal.Round(ticks) * (match.Groups["neg"].Success ? -1 : 1));
        return true;
    }

    // P[nY][nM][nW][nD][T[nH][nM][nS]], each n a whole or decimal number; "n" captures every number given, in order.
    [System.Text.RegularExpressions.GeneratedRegex(
        @"^(?<neg>-)?P(?:(?<n>(?<Y>\d+(?:[.,]\d+)?))Y)?(?:(?<n>(?<M>\d+(?:[.,]\d+)?))M)?(?:(?<n>(?<W>\d+(?:[.,]\d+)?))W)?(?:(?<n>(?<D>\d+(?:[.,]\d+)?))D)?" +
        @"(?:T(?=\d)(?:(?<n>(?<H>\d+(?:[.,]\d+)?))H)?(?:(?<n>(?<MT>\d+(?:[.,]\d+)?))M)?(?:(?<n>(?<S>\d+(?:[.,]\d+)?))S)?)?$",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex IsoDuration();

    // ---- Conditions -------------------------------------------------------------------------------------

    private static Func<AlertFacts, bool>? CompileCondition(JsonElement node, string path, Dictionary<string, string[]> errors, out bool canFire)
    {
        canFire = false;
        if (node.ValueKind != JsonValueKind.Object)
        {
            errors[path] = ["must be an object: {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or {\"field\", \"op\", \"value\"}"];
            return null;
        }
        if (node.TryGetProperty("all", out var all) || node.TryGetProperty("any", out all))
        {
            var isAll = node.TryGetProperty("all", out _);
            var key = isAll ? "all" : "any";
            if (all.ValueKind != JsonValueKind.Array)
            {
                errors[$"{path}.{key}"] = ["must be a list of conditions"];
                return null;
            }
            var parts = new List<Func<AlertFacts, bool>>();
            var feasibility = new Feasibility();
            var anyCanFire = false;
            var allCanFire = true;
            var i = 0;
            foreach (var child in all.EnumerateArray())
            {
                var childPath = $"{path}.{key}[{i++}]";
                var compiled = CompileCondition(child, childPath, errors, out var childCanFire);
                if (compiled is null)
                {
                    continue;
                }
                parts.Add(compiled);
                anyCanFire |= childCanFire;
                allCanFire &= childCanFire;
                if (isAll)
                {
                    feasibility.AddCondition(child);
                }
            }
            if (i == 0)
            {
                errors[$"{path}.{key}"] = ["must hold at least one condition"];
                return null;
            }
            var array = parts.ToArray();
            canFire = isAll ? allCanFire && feasibility.IsFeasible : anyCanFire;
            return isAll ? facts => Array.TrueForAll(array, p => p(facts)) : facts => Array.Exists(array, p => p(facts));
        }
        if (node.TryGetProperty("not", out var inner))
        {
            var compiled = CompileCondition(inner, path + ".not", errors, out _);
            canFire = true;
            return compiled is null ? null : facts => !compiled(facts);
        }
        return CompileLeaf(node, path, errors, out canFire);
    }

    /// <summary>The comparison symbols and their short names mean the operators they name ("&lt;=" is lte).</summary>
    private static string CanonicalOp(string op) => op.Trim() switch
    {
        "=" or "==" => "eq",
        "!=" or "<>" or "ne" => "neq",
        "<" => "lt",
        "<=" or "le" => "lte",
        ">" => "gt",
        ">=" or "ge" => "gte",
        var other => other,
    };

    /// <summary>Rewrites every comparison's operator in its long form ("&lt;=" becomes "lte"), so the rule reads back as it is understood.</summary>
    private static void CanonicalizeOps(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject leaf when leaf["op"] is JsonValue op && op.TryGetValue<string>(out var text):
                leaf["op"] = CanonicalOp(text);
                break;
            case JsonObject group:
                CanonicalizeOps(group["not"]);
                foreach (var key in new[] { "all", "any" })
                {
                    if (group[key] is JsonArray children)
                    {
                        foreach (var child in children)
                        {
                            CanonicalizeOps(child);
                        }
                    }
                }
                break;
        }
    }

    private static Func<AlertFacts, bool>? CompileLeaf(JsonElement node, string path, Dictionary<string, string[]> errors, out bool canFire)
    {
        canFire = false;
        var field = node.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : null;
        if (field is null || !Fields.TryGetValue(field, out var spec))
        {
            errors[path + ".field"] = [$"must be one of {string.Join(", ", Fields.Keys)}"];
            return null;
        }
        var op = node.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? CanonicalOp(o.GetString()!) : null;
        if (op is null || !spec.Ops.Contains(op))
        {
            errors[path + ".op"] = [$"for {field} must be one of {string.Join(", ", spec.Ops)}"];
            return null;
        }
        if (!node.TryGetProperty("value", out var value))
        {
            errors[path + ".value"] = ["is required"];
            return null;
        }
        var predicate = spec.Compile(field, op, value, out var problem, out canFire);
        if (predicate is null)
        {
            errors[path + ".value"] = [problem ?? "is not valid for this field"];
        }
        return predicate;
    }

    /// <summary>
    /// Checks whether the conditions of one "all" group can be true together: the metric, score, sentiment and record
    /// ranges, one value for a field that has only one (two channels at once), and a condition beside its own negation.
    /// It looks at one group's direct conditions only; it is a guard against the usual slips, not a solver.
    /// </summary>
    private sealed class Feasibility
    {
        // Fields of which a record has one value (a signal is not: a comment may carry several), mapped to the values
        // every "eq"/"in" in the group allows, and the values a "neq" rules out.
        private static readonly HashSet<string> SingleValued =
            ["npsCategory", "customerTier", "repeatContact", "resolved", "channel", "site", "team", "agent", "queue", "reason", "rootCause"];

        private readonly Dictionary<string, HashSet<string>> _allowed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, HashSet<string>> _excluded = new(StringComparer.Ordinal);
        private readonly HashSet<string> _asserted = new(StringComparer.Ordinal);
        private readonly HashSet<string> _negated = new(StringComparer.Ordinal);
        private HashSet<string> _metrics = ["csat", "nps", "ces"];
        private double _scoreLo = double.NegativeInfinity, _scoreHi = double.PositiveInfinity;
        private double _sentLo = -1, _sentHi = 1;
        private readonly HashSet<int> _scoreNot = [];
        private string? _record;
        private bool _contradiction;

        public bool IsFeasible
        {
            get
            {
                if (_contradiction || _metrics.Count == 0 || _sentLo > _sentHi || _asserted.Overlaps(_negated)
                    || _allowed.Any(a => a.Value.All(v => _excluded.TryGetValue(a.Key, out var ruledOut) && ruledOut.Contains(v))))
                {
                    return false;
                }
                if (double.IsNegativeInfinity(_scoreLo) && double.IsPositiveInfinity(_scoreHi) && _scoreNot.Count == 0)
                {
                    return true;
                }
                if (_record == "contact")
                {
                    return false;
                }
                foreach (var metric in _metrics)
                {
                    var (min, max) = MetricScales.Scale(metric);
                    for (var s = min; s <= max; s++)
                    {
                        if (s >= _scoreLo && s <= _scoreHi && !_scoreNot.Contains(s))
                        {
                            return true;
                        }
                    }
                }
                return false;
            }
        }

        /// <summary>Adds one compiled condition of the group: a comparison, a negation, or a nested group.</summary>
        public void AddCondition(JsonElement condition)
        {
            if (condition.TryGetProperty("not", out var inner))
            {
                _negated.Add(Key(inner));
                return;
            }
            _asserted.Add(Key(condition));
            if (condition.TryGetProperty("field", out _))
            {
                Add(condition);
            }
        }

        /// <summary>
        /// The meaning of a condition as text: short operators in their long form, values as they are compared, and
        /// the order of a group or a list ignored, so "not X" is recognised whatever way X was written.
        /// </summary>
        private static string Key(JsonElement condition)
        {
            if (condition.ValueKind != JsonValueKind.Object)
            {
                return condition.GetRawText();
            }
            if (condition.TryGetProperty("not", out var inner))
            {
                return $"not({Key(inner)})";
            }
            foreach (var group in new[] { "all", "any" })
            {
                if (condition.TryGetProperty(group, out var children) && children.ValueKind == JsonValueKind.Array)
                {
                    return $"{group}({string.Join(",", children.EnumerateArray().Select(Key).Order(StringComparer.Ordinal))})";
                }
            }
            var field = condition.TryGetProperty("field", out var f) ? f.GetString() : null;
            var op = condition.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? CanonicalOp(o.GetString()!) : null;
            var value = condition.TryGetProperty("value", out var v) ? v : default;
            return $"{field} {op} {ValueKey(value, ordered: op == "between")}";
        }

        private static string ValueKey(JsonElement value, bool ordered) => value.ValueKind switch
        {
            JsonValueKind.String => JsonSerializer.Serialize(value.GetString()!.Trim().ToLowerInvariant()),
            JsonValueKind.Number => value.GetDouble().ToString("R", CultureInfo.InvariantCulture),
            JsonValueKind.Array => ordered
                ? $"[{string.Join(",", value.EnumerateArray().Select(x => ValueKey(x, true)))}]"
                : $"[{string.Join(",", value.EnumerateArray().Select(x => ValueKey(x, false)).Distinct().Order(StringComparer.Ordinal))}]",
            _ => value.ValueKind == JsonValueKind.Undefined ? "" : value.GetRawText(),
        };

        private void Add(JsonElement leaf)
        {
            var field = leaf.GetProperty("field").GetString()!;
            var op = CanonicalOp(leaf.GetProperty("op").GetString()!);
            var value = leaf.GetProperty("value");
            if (SingleValued.Contains(field))
            {
                var values = value.ValueKind is JsonValueKind.True or JsonValueKind.False ? [value.GetBoolean() ? "true" : "false"] : Values(value).ToHashSet(StringComparer.Ordinal);
                if (op is "eq" or "in")
                {
                    if (_allowed.TryGetValue(field, out var allowed))
                    {
                        allowed.IntersectWith(values);
                    }
                    else
                    {
                        _allowed[field] = values;
                    }
                }
                else if (op == "neq")
                {
                    if (!_excluded.TryAdd(field, values))
                    {
                        _excluded[field].UnionWith(values);
                    }
                }
            }
            switch (field)
            {
                case "metric" or "npsCategory":
                    var values = Values(value).Select(v => field == "npsCategory" ? "nps" : v).ToHashSet();
                    if (op is "eq" or "in")
                    {
                        _metrics = _metrics.Intersect(values).ToHashSet();
                    }
                    else if (field == "metric" && op == "neq")
                    {
                        _metrics.ExceptWith(values);
                    }
                    Record("response");
                    break;
                case "score":
                    Record("response");
                    if (value.ValueKind == JsonValueKind.Number)
                    {
                        var v = value.GetDouble();
                        switch (op)
                        {
                            case "eq": _scoreLo = Math.Max(_scoreLo, v); _scoreHi = Math.Min(_scoreHi, v); break;
                            case "lt": _scoreHi = Math.Min(_scoreHi, Math.Ceiling(v) - 1); break;
                            case "lte": _scoreHi = Math.Min(_scoreHi, v); break;
                            case "gt": _scoreLo = Math.Max(_scoreLo, Math.Floor(v) + 1); break;
                            case "gte": _scoreLo = Math.Max(_scoreLo, v); break;
                            case "neq": _scoreNot.Add((int)v); break;
                        }
                    }
                    else if (op == "between" && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2)
                    {
                        _scoreLo = Math.Max(_scoreLo, value[0].GetDouble());
                        _scoreHi = Math.Min(_scoreHi, value[1].GetDouble());
                    }
                    break;
                case "sentiment" when value.ValueKind == JsonValueKind.Number:
                    var s = value.GetDouble();
                    switch (op)
                    {
                        case "lt": _sentHi = Math.Min(_sentHi, s - 1e-9); break;
                        case "lte": _sentHi = Math.Min(_sentHi, s); break;
                        case "gt": _sentLo = Math.Max(_sentLo, s + 1e-9); break;
                        case "gte": _sentLo = Math.Max(_sentLo, s); break;
                    }
                    break;
                case "record" when op == "eq":
                    Record(value.GetString()!);
                    break;
            }
        }

        private void Record(string record)
        {
            if (_record is not null && _record != record)
            {
                _contradiction = true;
            }
            _record = record;
        }
    }

    internal static IEnumerable<string> Values(JsonElement value) => value.ValueKind == JsonValueKind.Array
        ? value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!.Trim().ToLowerInvariant())
        : value.ValueKind == JsonValueKind.String ? [value.GetString()!.Trim().ToLowerInvariant()] : [];

    /// <summary>
    /// Lower-cases and turns punctuation into spaces, padded, so phrases match on word boundaries. Apostrophes stay
    /// inside words ("don't"), typographic ones as plain ones, but a possessive "'s" is dropped, so "lawyer" matches
    /// "lawyer's letter" (phrases go through the same steps, so "it's" still matches "it's").
    /// </summary>
    internal static string NormalizeText(string text)
    {
        var builder = new StringBuilder(text.Length + 2).Append(' ');
        var lastSpace = true;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i] is '\u2019' or '\u2018' ? '\'' : text[i];
            if (ch == '\'' && i + 1 < text.Length && text[i + 1] is 's' or 'S' && (i + 2 == text.Length || !char.IsLetterOrDigit(text[i + 2])))
            {
                i++;
                continue;
            }
            if (char.IsLetterOrDigit(ch) || ch == '\'')
            {
                builder.Append(char.ToLowerInvariant(ch));
                lastSpace = false;
            }
            else if (!lastSpace)
            {
                builder.Append(' ');
                lastSpace = true;
            }
        }
        if (!lastSpace)
        {
            builder.Append(' ');
        }
        return builder.ToString();
    }

    private sealed class FieldSpec
    {
        public required string[] Ops { get; init; }
        public required string Type { get; init; }
        public string[]? Allowed { get; init; }
        public double Min { get; init; }
        public double Max { get; init; }

        public static FieldSpec Enum(string[] allowed) => new() { Ops = ["eq", "neq", "in"], Type = "enum", Allowed = allowed };
        public static FieldSpec Code() => new() { Ops = ["eq", "neq", "in", "startsWith"], Type = "code" };
        public static FieldSpec Number(double min, double max) => new() { Ops = ["eq", "neq", "lt", "lte", "gt", "gte", "between"], Type = "number", Min = min, Max = max };
        public static FieldSpec Text() => new() { Ops = ["contains", "containsAny", "containsAll", "notContains"], Type = "text" };
        public static FieldSpec Bool() => new() { Ops = ["eq"], Type = "bool" };

        public Func<AlertFacts, bool>? Compile(string field, string op, JsonElement value, out string? problem, out bool canFire)
        {
            problem = null;
            canFire = true;
            switch (Type)
            {
                case "number":
                    double[] numbers;
                    if (op == "between")
                    {
                        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2 || value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number))
                        {
                            problem = "must be [low, high] for between";
                            return null;
                        }
                        numbers = [value[0].GetDouble(), value[1].GetDouble()];
                        if (numbers[0] > numbers[1])
                        {
                            problem = "low must not be above high";
                            return null;
                        }
                    }
                    else if (value.ValueKind != JsonValueKind.Number)
                    {
                        problem = "must be a number";
                        return null;
                    }
                    else
                    {
                        numbers = [value.GetDouble()];
                    }
                    var n = numbers[0];
                    // A comparison that no value in the field's range can satisfy makes the rule unable to fire.
                    canFire = op switch
                    {
                        "lt" => n > Min,
                        "lte" => n >= Min,
                        "gt" => n < Max,
                        "gte" => n <= Max,
                        "eq" => n >= Min && n <= Max,
                        "between" => numbers[1] >= Min && numbers[0] <= Max,
                        _ => true,
                    };
                    Func<AlertFacts, double?> get = field switch
                    {
                        "score" => f => f.Score,
                        "sentiment" => f => f.Sentiment,
                        _ => f => f.RepeatGapDays,
                    };
                    var hi = numbers.Length > 1 ? numbers[1] : n;
                    return op switch
                    {
                        "eq" => f => get(f) is { } v && Math.Abs(v - n) < 1e-9,
                        "neq" => f => get(f) is { } v && Math.Abs(v - n) >= 1e-9,
                        "lt" => f => get(f) is { } v && v < n,
                        "lte" => f => get(f) is { } v && v <= n,
                        "gt" => f => get(f) is { } v && v > n,
                        "gte" => f => get(f) is { } v && v >= n,
                        _ => f => get(f) is { } v && v >= n && v <= hi,
                    };
                case "bool":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        problem = "must be true or false";
                        return null;
                    }
                    var expected = value.GetBoolean();
                    return field switch
                    {
                        "repeatContact" => f => (f.RepeatGapDays is not null) == expected,
                        _ => f => f.Resolved == expected,
                    };
                case "text":
                    var phrases = Values(value).Select(NormalizeText).Where(p => p.Trim().Length > 0).ToArray();
                    if (phrases.Length == 0 || (op == "contains" && value.ValueKind != JsonValueKind.String))
                    {
                        problem = op == "contains" ? "must be a word or phrase" : "must be a list of words or phrases";
                        return null;
                    }
                    return op switch
                    {
                        "contains" or "containsAny" => f => f.Text is { } t && Array.Exists(phrases, p => t.Contains(p, StringComparison.Ordinal)),
                        "containsAll" => f => f.Text is { } t && Array.TrueForAll(phrases, p => t.Contains(p, StringComparison.Ordinal)),
                        _ => f => f.Text is null || !Array.Exists(phrases, p => f.Text.Contains(p, StringComparison.Ordinal)),
                    };
                default:
                    var values = Values(value).ToArray();
                    if (values.Length == 0 || (op is "eq" or "neq" or "startsWith" && value.ValueKind != JsonValueKind.String))
                    {
                        problem = op == "in" ? "must be a list of values" : "must be a string";
                        return null;
                    }
                    if (Allowed is not null && values.FirstOrDefault(v => !Allowed.Contains(v)) is { } bad)
                    {
                        problem = $"'{bad}' is not one of {string.Join(", ", Allowed)}";
                        return null;
                    }
                    Func<AlertFacts, IEnumerable<string?>> read = field switch
                    {
                        "record" => f => [f.Record],
                        "metric" => f => [f.Metric],
                        "npsCategory" => f => [f.Metric == "nps" && f.Score is { } s ? (s <= 6 ? "detractor" : s <= 8 ? "passive" : "promoter") : null],
                        "signal" => f => f.Signals,
                        "customerTier" => f => [f.Tier],
                        "channel" => f => [f.Channel],
                        "site" => f => [f.Site],
                        "team" => f => [f.Team],
                        "agent" => f => [f.Agent],
                        "queue" => f => [f.Queue?.ToLowerInvariant()],
                        "reason" => f => [f.Reason?.ToLowerInvariant()],
                        _ => f => [f.RootCause],
                    };
                    return op switch
                    {
                        "eq" or "in" => f => read(f).Any(v => v is not null && values.Contains(v)),
                        "neq" => f => !read(f).Any(v => v is not null && values.Contains(v)),
                        _ => f => read(f).Any(v => v is not null && v.StartsWith(values[0], StringComparison.Ordinal)),
                    };
            }
        }
    }

    public static string FormatDuration(TimeSpan span) => XmlConvert.ToString(span);

    public static string Iso(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);
}
