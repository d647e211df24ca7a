using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;

namespace Closeloop.Web;

/// <summary>
/// For the endpoints that bind their JSON body to a record (API keys, users, pools, sites, agents, webhooks,
/// customers, notes, preferences, broadcasts):
/// System.Text.Json stops at the first value of the wrong type, but a 400 here names every bad field. Those endpoints
/// are marked, their bodies (small admin requests) are buffered, and a failed binding is read again field by field.
/// The ingest endpoints read their bodies themselves and are not buffered.
/// </summary>
public static class ModelBodies
{
    private sealed class Marker;

    /// <summary>Marks an endpoint whose body parameter is bound by the serializer.</summary>
    public static RouteHandlerBuilder NamesEveryBadField(this RouteHandlerBuilder builder) => builder.WithMetadata(new Marker());

    public static IApplicationBuilder UseBufferedModelBodies(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.GetEndpoint() is { } endpoint && endpoint.Metadata.GetMetadata<Marker>() is not null
            && endpoint.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is { } type)
        {
            context.Request.EnableBuffering(JsonBody.SingleLimit);
            // Kept on the request: the exception handler runs with the endpoint cleared.
            context.Items[typeof(Marker)] = type;
        }
        return next(context);
    });

    /// <summary>
    /// Every field of a marked endpoint's body whose value the bound type cannot take, or null when the body can't be
    /// read again or no single field explains the failure.
    /// </summary>
    public static async Task<Dictionary<string, string[]>?> WrongTypesAsync(HttpContext context)
    {
        if (context.Items[typeof(Marker)] is not Type type || !context.Request.Body.CanSeek)
        {
            return null;
        }
        context.Request.Body.Position = 0;
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is null)
                .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            foreach (var field in document.RootElement.EnumerateObject())
            {
                if (!properties.TryGetValue(field.Name, out var property))
                {
                    continue;
                }
                try
                {
                    field.Value.Deserialize(property.PropertyType, JsonSerializerOptions.Web);
                }
                catch (JsonException)
                {
                    errors[field.Name] = [$"must be {Describe(property.PropertyType)}"];
                }
            }
            return errors.Count > 0 ? errors : null;
        }
    }

    private static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return "a string";
        }
        if (type == typeof(bool))
        {
            return "true or false";
        }
        if (type == typeof(int) || type == typeof(long))
        {
            return "a whole number";
        }
        if (type.IsArray && type.GetElementType() == typeof(string))
        {
            return "an array of strings";
        }
        return type.IsArray ? "an array" : "a value of another type";
    }
}
