using System.Text.Json;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Responses;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Surveys;

/// <summary>A survey as SurveyJS JSON, scored on one metric. At most one per metric is that metric's default.</summary>
public sealed class SurveyDefinition
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public required string Metric { get; set; }
    public required string Definition { get; set; }
    public bool IsDefault { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }
}

/// <summary>
/// What the server needs to know of a SurveyJS definition: which question carries the score (the rating question
/// named after the metric), on which scale, which one is the comment, and every question name an answer may use.
/// </summary>
public sealed record SurveyShape(string Metric, string ScoreQuestion, int Min, int Max, string? CommentQuestion, int CommentMaxLength, IReadOnlySet<string> Questions);

/// <summary>
/// The rules a survey definition must follow so that every answer to it can become a response: a JSON object
/// with pages (or elements), exactly one required rating question named after the metric whose scale is the
/// metric's (CSAT 1–5, NPS 0–10, CES 1–7), and optionally a question named "comment" for the free text.
/// </summary>
public static class SurveyRules
{
    public const string CommentQuestion = "comment";
    public const int MaxDefinitionLength = 256 * 1024;
    public const int MaxNameLength = 200;

    private static readonly HashSet<string> Containers = new(StringComparer.Ordinal) { "panel" };
    private static readonly HashSet<string> TextTypes = new(StringComparer.Ordinal) { "comment", "text" };

    public static SurveyShape? Validate(string metric, JsonElement definition, FieldErrors errors, string prefix = "definition")
    {
        if (definition.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix, "must be a SurveyJS JSON object with pages or elements");
            return null;
        }
        var questions = new Dictionary<string, (JsonElement Element, string Path)>(StringComparer.Ordinal);
        var before = errors.Any;
        if (definition.TryGetProperty("pages", out var pages))
        {
            if (pages.ValueKind != JsonValueKind.Array || pages.GetArrayLength() == 0)
            {
                errors.Add($"{prefix}.pages", "must be a non-empty array of pages");
                return null;
            }
            var p = 0;
            foreach (var page in pages.EnumerateArray())
            {
                var path = $"{prefix}.pages[{p++}]";
                if (page.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(path, "must be an object with elements");
                    continue;
                }
                Walk(page, path, questions, errors);
            }
        }
        else if (definition.TryGetProperty("elements", out _))
        {
            Walk(definition, prefix, questions, errors);
        }
        else
        {
            errors.Add(prefix, "must have pages (each with elements) or elements");
            return null;
        }

        var scale = MetricScales.Scale(metric);
        var scaleText = $"{scale.Min}–{scale.Max} for {metric}";
        if (!questions.TryGetValue(metric, out var scored))
        {
            errors.Add(prefix, $"must have one rating question named \"{metric}\" on the scale {scaleText}");
        }
        else
        {
            CheckScored(scored.Element, scored.Path, metric, scale, scaleText, errors);
        }
        var commentMax = IngestParser.MaxCommentLength;
        string? comment = null;
        if (questions.TryGetValue(CommentQuestion, out var c))
        {
            comment = CommentQuestion;
            if (!TextTypes.Contains(TypeOf(c.Element) ?? ""))
            {
                errors.Add($"{c.Path}.type", "the question named \"comment\" must be a comment or text question");
            }
            if (c.Element.TryGetProperty("maxLength", out var maxLength))
            {
                if (maxLength.ValueKind != JsonValueKind.Number || !maxLength.TryGetInt32(out var m) || m < 0 || m > IngestParser.MaxCommentLength)
                {
                    errors.Add($"{c.Path}.maxLength", $"must be a whole number from 0 (no limit) to {IngestParser.MaxCommentLength}");
                }
                else if (m > 0)
                {
                    commentMax = m;
                }
            }
        }
        if (errors.Any || before)
        {
            return null;
        }
        return new SurveyShape(metric, metric, scale.Min, scale.Max, comment, commentMax, questions.Keys.ToHashSet(StringComparer.Ordinal));
    }

    private static void CheckScored(JsonElement question, string path, string metric, (int Min, int Max) scale, string scaleText, FieldErrors errors)
    {
        if (TypeOf(question) != "rating")
        {
            errors.Add($"{path}.type", $"the question \"{metric}\" carries the score, so it must be a rating question ({scaleText})");
            return;
        }
        if (!question.TryGetProperty("isRequired", out var required) || required.ValueKind != JsonValueKind.True)
        {
            errors.Add($"{path}.isRequired", "must be true: a response needs its score");
        }
        if (question.TryGetProperty("rateValues", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            // Explicit values must be exactly the scale, in order: value or {"value": n, "text": "..."}.
            var expected = Enumerable.Range(scale.Min, scale.Max - scale.Min + 1).ToList();
            var actual = values.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Object && v.TryGetProperty("value", out var inner) ? inner : v)
                .Select(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : (int?)null).ToList();
            if (!actual.SequenceEqual(expected.Select(n => (int?)n)))
            {
                errors.Add($"{path}.rateValues", $"must be the whole numbers {scaleText}, in order");
            }
            return;
        }
        var min = Int(question, "rateMin", path, errors) ?? 1;
        var count = Int(question, "rateCount", path, errors);
        var max = Int(question, "rateMax", path, errors) ?? (count is { } c ? min + c - 1 : 5);
        var step = Int(question, "rateStep", path, errors) ?? 1;
        if (min != scale.Min)
        {
            errors.Add($"{path}.rateMin", $"must be {scale.Min} ({scaleText})");
        }
        if (max != scale.Max)
        {
            errors.Add($"{path}.rateMax", $"must be {scale.Max} ({scaleText})");
        }
        if (step != 1)
        {
            errors.Add($"{path}.rateStep", "must be 1");
        }
        if (count is { } n && n != scale.Max - scale.Min + 1)
        {
            errors.Add($"{path}.rateCount", $"must be {scale.Max - scale.Min + 1} ({scaleText})");
        }
    }

    private static int? Int(JsonElement question, string name, string path, FieldErrors errors)
    {
        if (!question.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n))
        {
            return n;
        }
        errors.Add($"{path}.{name}", "must be a whole number");
        return null;
    }

    private static void Walk(JsonElement container, string path, Dictionary<string, (JsonElement, string)> questions, FieldErrors errors)
    {
        if (!container.TryGetProperty("elements", out var elements))
        {
            return;
        }
        if (elements.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{path}.elements", "must be an array of questions");
            return;
        }
        var i = 0;
        foreach (var element in elements.EnumerateArray())
        {
            var at = $"{path}.elements[{i++}]";
            if (element.ValueKind != JsonValueKind.Object || TypeOf(element) is not { Length: > 0 } type)
            {
                errors.Add(at, "must be an object with a type");
                continue;
            }
            if (Containers.Contains(type))
            {
                Walk(element, at, questions, errors);
                continue;
            }
            if (!element.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
                || nameElement.GetString() is not { Length: > 0 and <= MaxNameLength } name)
            {
                errors.Add($"{at}.name", "is required (at most 200 characters)");
                continue;
            }
            if (!questions.TryAdd(name, (element, at)))
            {
                errors.Add($"{at}.name", $"\"{name}\" is the name of another question");
            }
        }
    }

    private static string? TypeOf(JsonElement element) =>
        element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()!.ToLowerInvariant() : null;
}

/// <summary>The survey each metric uses when no survey of that metric is stored as the default.</summary>
public static class DefaultSurveys
{
    public static string For(string metric)
    {
        var (min, max) = MetricScales.Scale(metric);
        var (title, question, low, high) = metric switch
        {
            MetricScales.Nps => ("A quick question", "How likely are you to recommend us to a friend or colleague?", "Not at all likely", "Extremely likely"),
            MetricScales.Ces => ("A quick question", "The company made it easy for me to handle my issue.", "Strongly disagree", "Strongly agree"),
            _ => ("How did we do?", "How satisfied are you with the help you received?", "Very dissatisfied", "Very satisfied"),
        };
        var rating = new Dictionary<string, object>
        {
            ["type"] = "rating", ["name"] = metric, ["title"] = question, ["isRequired"] = true,
            ["rateMin"] = min, ["rateMax"] = max, ["rateCount"] = max - min + 1,
            ["minRateDescription"] = low, ["maxRateDescription"] = high,
        };
        if (max - min < 5)
        {
            // Five buttons fit a phone and take one tap.
            rating["displayMode"] = "buttons";
        }
        else
        {
            // A longer scale is left to SurveyJS: a drop-down on a narrow screen, which shows no end labels, so they are said in words too.
            rating["description"] = $"{min} = {low.ToLowerInvariant()}, {max} = {high.ToLowerInvariant()}";
        }
        var survey = new Dictionary<string, object>
        {
            ["title"] = title,
            ["showQuestionNumbers"] = "off",
            ["completeText"] = "Send",
            ["pages"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["name"] = "answers",
                    ["elements"] = new object[]
                    {
                        rating,
                        new Dictionary<string, object>
                        {
                            ["type"] = "comment", ["name"] = SurveyRules.CommentQuestion, ["title"] = "What is the main reason for your score?", ["maxLength"] = 2000,
                        },
                    },
                },
            },
        };
        return JsonSerializer.Serialize(survey);
    }

    public static string Name(string metric) => $"Built-in {metric.ToUpperInvariant()} survey";
}

/// <summary>The survey an invitation shows: its own, else the metric's stored default, else the built-in one.</summary>
public sealed record ResolvedSurvey(long? Id, string Name, string Definition, SurveyShape Shape)
{
    public static async Task<ResolvedSurvey> ForAsync(CloseloopDb db, long? surveyId, string metric, CancellationToken ct)
    {
        var candidates = await db.Surveys.AsNoTracking()
            .Where(s => s.Metric == metric && ((surveyId != null && s.Id == surveyId) || s.IsDefault))
            .Select(s => new { s.Id, s.Name, s.Definition, s.IsDefault })
            .ToListAsync(ct);
        // A survey of another metric (changed since the invitation was made) is not used: the score must fit the invitation's scale.
        foreach (var row in candidates.OrderBy(s => s.Id == surveyId ? 0 : 1))
        {
            if (ShapeOf(metric, row.Definition) is { } shape)
            {
                return new ResolvedSurvey(row.Id, row.Name, row.Definition, shape);
            }
        }
        var builtIn = DefaultSurveys.For(metric);
        return new ResolvedSurvey(null, DefaultSurveys.Name(metric), builtIn, ShapeOf(metric, builtIn)!);
    }

    private static SurveyShape? ShapeOf(string metric, string definition)
    {
        using var document = JsonDocument.Parse(definition);
        return SurveyRules.Validate(metric, document.RootElement, new FieldErrors());
    }

    /// <summary>The definition as JSON that is safe inside an HTML script block: no "&lt;" can close the block.</summary>
    public string DefinitionForHtml => HtmlSafeJson(Definition);

    public static string HtmlSafeJson(string json) =>
        json.Replace("<", "\\u003c", StringComparison.Ordinal).Replace(">", "\\u003e", StringComparison.Ordinal).Replace("&", "\\u0026", StringComparison.Ordinal);
}
