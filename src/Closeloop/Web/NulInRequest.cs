namespace Closeloop.Web;

/// <summary>
/// A query value or path segment with U+0000 is refused before any handler reads it: PostgreSQL cannot take it as a
/// parameter (error 22021, a 500), and no code, id or search term holds one.
/// </summary>
public static class NulInRequest
{
    public static IApplicationBuilder UseNulRefusal(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Request.Path.Value?.Contains('\0', StringComparison.Ordinal) == true)
        {
            return Problems.Validation("path", "must not contain the NUL character (U+0000)").ExecuteAsync(context);
        }
        foreach (var (key, values) in context.Request.Query)
        {
            if (key.Contains('\0', StringComparison.Ordinal) || values.Any(v => v?.Contains('\0', StringComparison.Ordinal) == true))
            {
                return Problems.Validation(key.Replace("\0", "", StringComparison.Ordinal), "must not contain the NUL character (U+0000)").ExecuteAsync(context);
            }
        }
        return next(context);
    });
}
