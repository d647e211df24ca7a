using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;

namespace Closeloop.Web;

/// <summary>Every error leaves as RFC 7807 problem details; a client mistake is never reported as a 500.</summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest, InnerException: System.Text.Json.JsonException }
            && await ModelBodies.WrongTypesAsync(httpContext) is { } wrongFields)
        {
            await Problems.Validation(wrongFields).ExecuteAsync(httpContext);
            return true;
        }
        if (exception is Data.NulTextException nul)
        {
            await Problems.Validation(nul.Field, "must not contain the NUL character (U+0000)").ExecuteAsync(httpContext);
            return true;
        }
        if (exception is BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest } bad && BadField(bad) is { } field)
        {
            // A query value or body that minimal APIs could not bind names its field, like every other 400 here.
            await Problems.Validation(field.Name, field.Message).ExecuteAsync(httpContext);
            return true;
        }
        var (status, title) = exception switch
        {
            BadHttpRequestException b => (b.StatusCode, b.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Bad request"),
            System.Text.Json.JsonException => (StatusCodes.Status400BadRequest, "Bad request"),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "Client closed request"),
            _ when Data.DatabaseFailures.IsUnavailable(exception) => (StatusCodes.Status503ServiceUnavailable, "The database is unavailable; retry shortly"),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred"),
        };
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            // Nothing of the request was acknowledged, so a client that retries (with the same externalId) loses nothing.
            logger.LogWarning(exception, "Database unavailable on {Path}", httpContext.Request.Path);
            httpContext.Response.Headers.RetryAfter = "5";
        }
        else if (status >= 500)
        {
            logger.LogError(exception, "Unhandled exception on {Path}", httpContext.Request.Path);
        }
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails =
            {
                Status = status,
                Title = title,
                Detail = status < 500 ? exception.Message : null,
            },
        });
    }

    /// <summary>
    /// The field behind a binding failure of a minimal API, read from what ASP.NET Core says
    /// (<c>Failed to bind parameter "int? limit" from "abc".</c>) or from the JSON reader's path (<c>$.consent</c>).
    /// </summary>
    internal static (string Name, string Message)? BadField(BadHttpRequestException bad)
    {
        if (bad.InnerException is System.Text.Json.JsonException json)
        {
            // The serializer's own message says "could not be converted" for a value of the wrong type; anything
            // else is the reader finding text that is not JSON.
            var converting = json.Message.Contains("could not be converted", StringComparison.Ordinal);
            var field = json.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
            return converting
                ? (field, field == "body" ? "must be a JSON object" : "has the wrong type for this field")
                : ("body", $"is not valid JSON (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1})");
        }
        var match = BindFailure().Match(bad.Message);
        if (!match.Success)
        {
            return null;
        }
        // The type as ASP.NET Core prints it: "int?" in some versions, "Nullable<int>" in others.
        var type = match.Groups["type"].Value.TrimEnd('?');
        type = type.StartsWith("Nullable<", StringComparison.Ordinal) ? type["Nullable<".Length..].TrimEnd('>') : type;
        var name = match.Groups["name"].Value;
        if (match.Groups["value"].Success)
        {
            var expected = type is "int" or "long" or "Int32" or "Int64" ? "a whole number" : type is "bool" or "Boolean" ? "true or false" : $"a valid {type}";
            return (name, $"must be {expected}, not '{match.Groups["value"].Value}'");
        }
        // "... was not provided from body", "... from the request body as JSON": the body as a whole is the field.
        return bad.Message.Contains("body", StringComparison.Ordinal) ? ("body", "is required: a JSON object") : (name, "is required");
    }

    [GeneratedRegex("""parameter "(?:(?<type>[^"]*?)\s+)?(?<name>[A-Za-z_][A-Za-z0-9_]*)"(?: from "(?<value>[^"]*)")?""")]
    private static partial Regex BindFailure();
}
