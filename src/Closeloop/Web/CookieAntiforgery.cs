using Closeloop.Security;
using Microsoft.AspNetCore.Antiforgery;

namespace Closeloop.Web;

/// <summary>
/// A browser sends the console's cookie with any request, so a write to the API made with the cookie (rather than
/// an API key, which a browser never adds by itself) must carry the anti-forgery token that the console pages hold.
/// It runs after authorization, which is where the endpoint's schemes (API key, cookie) have filled in the caller.
/// The cookie is also SameSite=Strict; this is the second lock, for every endpoint under /api, present and future.
/// </summary>
public static class CookieAntiforgery
{
    public static IApplicationBuilder UseCookieAntiforgeryForApi(this IApplicationBuilder app) =>
        app.Use(async (http, next) =>
        {
            if (http.Request.Path.StartsWithSegments("/api") && IsWrite(http.Request.Method) && SignedInByCookie(http))
            {
                var antiforgery = http.RequestServices.GetRequiredService<IAntiforgery>();
                if (!await antiforgery.IsRequestValidAsync(http))
                {
                    await Problems.Validation("X-CSRF-TOKEN", "a request signed in with the console's cookie needs the page's anti-forgery token in this header")
                        .ExecuteAsync(http);
                    return;
                }
            }
            await next(http);
        });

    private static bool IsWrite(string method) =>
        !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method);

    private static bool SignedInByCookie(HttpContext http) =>
        http.User.Identities.Any(i => i.IsAuthenticated && i.AuthenticationType == PersonAuthentication.Scheme);
}
