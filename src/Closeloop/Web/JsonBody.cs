using System.Buffers;
using System.Text.Json;

namespace Closeloop.Web;

/// <summary>
/// Reads a JSON request body with a size limit that holds the same under Kestrel and the test server,
/// and turns every way a body can be unreadable into a problem response instead of an exception.
/// </summary>
public static class JsonBody
{
    public const int SingleLimit = 1024 * 1024;
    public const int BatchLimit = 10 * 1024 * 1024;

    /// <param name="optional">An empty body is allowed and reads as no document (chunked requests carry no Content-Length to tell).</param>
    public static async Task<(JsonDocument? Document, IResult? Problem)> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken, bool optional = false)
    {
        if (request.ContentType is { } contentType && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Problems.Status(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send the body as application/json."));
        }
        if (request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, (int)(request.ContentLength ?? 16 * 1024) + 1));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        return (null, TooLarge(limit));
                    }
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length, buffer.Length - length), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > limit)
                {
                    return (null, TooLarge(limit));
                }
            }
            if (length == 0)
            {
                return (null, optional ? null : Problems.Validation("body", "a JSON body is required"));
            }
            try
            {
                // JsonDocument keeps the memory it parses, so it gets its own copy: the pooled buffer goes back
                // to the pool below and may be reused by another request while this document is still read.
                // A UTF-8 byte order mark is skipped: PowerShell and .NET's default encodings write one.
                var body = buffer.AsSpan(0, length);
                if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
                {
                    body = body[3..];
                }
                return (JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 32 }), null);
            }
            catch (JsonException ex)
            {
                return (null, Problems.Validation("body", $"is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})"));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary><see cref="ReadAsync"/> for a body that must be one JSON object (up to 1 MB); anything else is a 400 naming <c>body</c>.</summary>
    public static async Task<(JsonDocument? Document, IResult? Problem)> ReadObjectAsync(HttpRequest request, CancellationToken cancellationToken, bool optional = false)
    {
        var (document, problem) = await ReadAsync(request, SingleLimit, cancellationToken, optional);
        if (document is not null && document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, Problems.Validation("body", "must be a JSON object"));
        }
        return (document, problem);
    }

    private static IResult TooLarge(int limit) =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The body may be at most {limit / 1024 / 1024} MB.");
}

public static class Problems
{
    public static IResult Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] });

    public static IResult Validation(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "One or more fields are invalid.", type: "https://closeloop.dev/problems/validation");

    /// <summary>403 naming each field the caller may not change: the record is theirs to see, the change is not theirs to make.</summary>
    public static IResult Forbidden(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not allowed for this caller.", type: "https://closeloop.dev/problems/forbidden",
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["errors"] = errors });

    public static IResult Status(int status, string title, string? detail = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);

    public static IResult Conflict(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict", type: "https://closeloop.dev/problems/conflict");
}
