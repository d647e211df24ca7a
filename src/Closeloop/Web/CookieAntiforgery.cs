using Closeloop.Security;
using Microsoft.AspNetCore.Antiforgery;

namespace Closeloop.Web;

/// <summary>
/// A browser sends the console's cookie with any request, so a write made with the cookie (rather than an API
/// key, which a browser never adds by itself) must carry the anti-forgery token that the console pages hold.
/// </summary>
public sealed class CookieAntiforgery(IAntiforgery antiforgery) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var byCookie = http.User.Identities.Any(i => i.IsAuthenticated && i.AuthenticationType == PersonAuthentication.Scheme);
        if (byCookie && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            try
            {
                await antiforgery.ValidateRequestAsync(http);
            }
            catch (AntiforgeryValidationException)
            {
                return Problems.Validation("X-CSRF-TOKEN", "a request signed in with the console's cookie needs the page's anti-forgery token in this header");
            }
        }
        return await next(context);
    }
}

public static class CookieAntiforgeryExtensions
{
    public static RouteGroupBuilder RequireAntiforgeryForCookies(this RouteGroupBuilder group) => group.AddEndpointFilter<CookieAntiforgery>();
}
