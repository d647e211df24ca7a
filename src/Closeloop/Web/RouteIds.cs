namespace Closeloop.Web;

/// <summary>External ids as they arrive in a URL path segment.</summary>
public static class RouteIds
{
    /// <summary>
    /// Kestrel decodes a request path except for an encoded slash, which it leaves as <c>%2F</c> so that it cannot
    /// split a segment in two. CRM ids such as <c>ACME/123</c> are common and links to them encode the slash (the
    /// API's own Location headers do), so the route value is decoded the rest of the way here. An id whose own text
    /// holds "%2F" cannot be told apart from one with a slash; that is the price of ids with slashes. Ingest trims
    /// external ids, so the id in a path is trimmed too: a client that posted <c>" sp-1 "</c> and reads back what it
    /// sent finds the record.
    /// </summary>
    public static string Decode(string value) =>
        (value.Contains('%', StringComparison.Ordinal) ? value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase) : value).Trim();
}
