using System.Security.Cryptography;

namespace Closeloop.Web;

/// <summary>
/// Defence in depth for the console and the survey page: everything shown is encoded already, and a
/// Content-Security-Policy makes a slip in that harmless (no script but the site's own files, and an inline block only
/// where the page asked for this request's nonce); no page is framed by another site (clickjacking); and no answer is
/// sniffed into another type (a CSV or JSON answer read as HTML).
/// </summary>
public static class SecurityHeaders
{
    private const string NonceKey = "closeloop:csp-nonce";

    /// <summary>This request's nonce, for an inline script the page cannot do without.</summary>
    public static string Nonce(HttpContext context) =>
        context.Items[NonceKey] as string ?? (string)(context.Items[NonceKey] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            if (!context.Request.Path.StartsWithSegments("/api"))
            {
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "same-origin";
                // A page with no inline script (most, and the survey page) gets no nonce at all.
                var inline = context.Items[NonceKey] is string nonce ? $" 'nonce-{nonce}'" : "";
                headers.ContentSecurityPolicy = $"default-src 'none'; script-src 'self'{inline}; style-src 'self' 'unsafe-inline'; " +
                    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            }
            return Task.CompletedTask;
        });
        return next(context);
    });
}
