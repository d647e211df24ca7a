using Closeloop.Ingest;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Closeloop.Web;

/// <summary>
/// Makes the generated OpenAPI document say what the API does: clients are generated from it, so a field it calls
/// required or a type it allows is a promise.
/// </summary>
public static class OpenApiContract
{
    public const string SchemeName = "bearer";

    // The ingest records are read by IngestParser, not by model binding: these are its required fields, and it reads
    // numbers only as JSON numbers (the generator assumes the web defaults, which also read them from strings).
    private static readonly Dictionary<Type, string[]> Required = new()
    {
        [typeof(ContactInput)] = ["externalId", "customer", "channel", "occurredAt"],
        [typeof(ResponseInput)] = ["externalId", "customer", "metric", "score"],
        [typeof(CustomerInput)] = ["externalId"],
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Closeloop API";
            document.Info.Description = "Contacts, survey responses, customers, alerts and measures of a contact center. Machines authenticate with Authorization: Bearer <api key>.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SchemeName] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key (POST /api/v1/api-keys or `closeloop apikey create`), sent as Authorization: Bearer <key>. People use the console's sign-in cookie instead.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<IAllowAnonymous>().Any() || !(context.Description.RelativePath ?? "").StartsWith("api/", StringComparison.Ordinal))
            {
                return Task.CompletedTask;
            }
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeName, context.Document)] = [] });
            operation.Responses ??= new OpenApiResponses();
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No API key, or an unknown or revoked one." });
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (!Required.TryGetValue(context.JsonTypeInfo.Type, out var required))
            {
                return Task.CompletedTask;
            }
            schema.Required = new HashSet<string>(required, StringComparer.Ordinal);
            foreach (var property in schema.Properties?.Values ?? [])
            {
                if (property is OpenApiSchema concrete && concrete.Type is { } type && type.HasFlag(JsonSchemaType.Integer))
                {
                    concrete.Type = type & ~JsonSchemaType.String;
                    concrete.Pattern = null;
                }
            }
            return Task.CompletedTask;
        });
    }
}
