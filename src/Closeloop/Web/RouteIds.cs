using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace Closeloop.Web;

/// <summary>
/// External ids in a path. Kestrel decodes a request path except for an encoded slash, which it leaves as <c>%2F</c>
/// so that it cannot split a segment in two. CRM ids such as <c>ACME/123</c> are common and links to them encode the
/// slash (the API's own Location headers do), so a route value is decoded the rest of the way by <see cref="Decode"/>.
/// An id whose own text holds "%2F" (sent as <c>%252F</c>) would then read as one with a slash, since Kestrel turns
/// <c>%25</c> into "%" first; <see cref="UseRawIdSegments"/> rebuilds such a path from the raw request target, so
/// the two stay apart.
/// </summary>
public static class RouteIds
{
    /// <summary>
    /// The id a route value stands for: <c>%2F</c> is a slash and <c>%25</c> a percent sign, read in one pass. Ingest
    /// trims external ids, so the id in a path is trimmed too: a client that posted <c>" sp-1 "</c> and reads back
    /// what it sent finds the record.
    /// </summary>
    public static string Decode(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value.Trim();
        }
        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length)
            {
                var hex = value.AsSpan(i + 1, 2);
                if (hex.Equals("2F", StringComparison.OrdinalIgnoreCase) || hex.Equals("25", StringComparison.Ordinal))
                {
                    text.Append(hex[1] == '5' ? '%' : '/');
                    i += 2;
                    continue;
                }
            }
            text.Append(value[i]);
        }
        return text.ToString().Trim();
    }

    /// <summary>
    /// When the raw request target holds an encoded percent sign or slash, sets the path to its segments decoded and
    /// then escaped only for those two characters, which <see cref="Decode"/> undoes; every other path is left as
    /// Kestrel made it. Runs before routing.
    /// </summary>
    public static IApplicationBuilder UseRawIdSegments(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is not null && raw.StartsWith('/') && (raw.Contains("%25", StringComparison.Ordinal) || raw.Contains("%2F", StringComparison.OrdinalIgnoreCase)))
        {
            var end = raw.IndexOf('?', StringComparison.Ordinal);
            var segments = (end < 0 ? raw : raw[..end]).Split('/')
                .Select(s => Uri.UnescapeDataString(s).Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal));
            context.Request.Path = new PathString(string.Join('/', segments));
        }
        return next(context);
    });
}
