using System.Text.Json;

// A minimal Kestrel app: POST /api/v1/responses reads the whole JSON body with System.Text.Json and answers 200.
// It is the ceiling the product's single-ingest endpoint is compared with (same tool, connections, duration).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

app.MapGet("/health", () => Results.Ok());
app.MapPost("/api/v1/responses", async (HttpRequest request, CancellationToken ct) =>
{
    using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
    var root = document.RootElement;
    return root.ValueKind == JsonValueKind.Object && root.TryGetProperty("externalId", out var id) && id.ValueKind == JsonValueKind.String
        ? Results.Ok()
        : Results.BadRequest();
});

await app.RunAsync();
