using System.Text.Json;

namespace Closeloop.Web;

/// <summary>Reads typed fields from a JSON object and names every bad one.</summary>
internal readonly struct JsonFields(JsonElement body, Dictionary<string, string[]> errors)
{
    public string? Text(string name, bool required = false, int max = 200)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors[name] = ["is required"];
            }
            return null;
        }
        if (value.ValueKind != JsonValueKind.String || value.GetString()!.Trim() is not { Length: > 0 } text)
        {
            errors[name] = ["must be a non-empty string"];
            return null;
        }
        if (text.Length > max)
        {
            errors[name] = [$"must be at most {max} characters"];
            return null;
        }
        return text;
    }

    public DateTimeOffset? Instant(string name) =>
        Text(name) is { } text
            ? IsoTime.TryParse(text, out var at) ? at : Error<DateTimeOffset?>(name, "must be an ISO 8601 date or date and time")
            : null;

    public long? Number(string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n : Error<long?>(name, "must be an integer");

    private T? Error<T>(string name, string message)
    {
        errors[name] = [message];
        return default;
    }
}
