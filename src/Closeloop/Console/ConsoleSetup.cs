using Closeloop.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;

namespace Closeloop.WebConsole;

/// <summary>The web console: server-rendered Razor Pages under Console/Pages, signed in with the person cookie.</summary>
public static class ConsoleSetup
{
    /// <summary>Console pages accept only the person cookie: an API key is for machines, and a challenge here must redirect to /login.</summary>
    public const string PersonPolicy = "console-person";

    public const string AdminPolicy = "console-admin";

    public const string FiguresPolicy = "console-figures";

    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddRazorPages(options =>
        {
            options.RootDirectory = "/Console/Pages";
            options.Conventions.AuthorizeFolder("/", PersonPolicy);
            options.Conventions.AuthorizeFolder("/Admin", AdminPolicy);
            options.Conventions.AuthorizeFolder("/Dashboards", FiguresPolicy);
            options.Conventions.AuthorizePage("/Dashboard", FiguresPolicy);
            options.Conventions.AuthorizePage("/Insights/Index", FiguresPolicy);
            options.Conventions.AllowAnonymousToPage("/Login");
            options.Conventions.AllowAnonymousToPage("/Errors/Status");
            options.Conventions.ConfigureFilter(new NoHandlerForMethodFilter());
        });
        services.AddDataProtection().SetApplicationName("closeloop");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceScopeFactory>((options, scopes) => options.XmlRepository = new DatabaseXmlRepository(scopes));
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "closeloop-af";
            options.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the request came over HTTPS (behind a known proxy, as the proxy received it).
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            // Lets the console's scripts send the token with fetch() to a page handler.
            options.HeaderName = "X-CSRF-TOKEN";
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(PersonPolicy, p => p.AddAuthenticationSchemes(PersonAuthentication.Scheme).RequireAuthenticatedUser())
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(PersonAuthentication.Scheme).RequireAuthenticatedUser().RequireRole(Roles.Admin))
            .AddPolicy(FiguresPolicy, p => p.AddAuthenticationSchemes(PersonAuthentication.Scheme).RequireAuthenticatedUser().RequireRole(Roles.FigureReaders));
        return services;
    }

    public static WebApplication MapConsole(this WebApplication app)
    {
        app.MapRazorPages();
        return app;
    }

    /// <summary>
    /// A person who may not see a page gets the same 404 as for a page that does not exist, so a URL tells
    /// nothing about what lies outside their scope.
    /// </summary>
    public static Task NotFoundInsteadOfForbidden(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}

/// <summary>
/// A POST (or PUT, DELETE…) to a page that has no handler for it answers 405. Razor Pages would otherwise render
/// the page without running its OnGet, and the page's model, never loaded, failed with a 500.
/// </summary>
internal sealed class NoHandlerForMethodFilter : Microsoft.AspNetCore.Mvc.Filters.IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(Microsoft.AspNetCore.Mvc.Filters.PageHandlerSelectedContext context) => Task.CompletedTask;

    public Task OnPageHandlerExecutionAsync(Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutingContext context, Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutionDelegate next)
    {
        if (context.HandlerMethod is null && !HttpMethods.IsGet(context.HttpContext.Request.Method) && !HttpMethods.IsHead(context.HttpContext.Request.Method))
        {
            // Answered here, not through the error page: re-executed with the same method, that page has no handler either.
            if (context.HttpContext.Features.Get<Microsoft.AspNetCore.Diagnostics.IStatusCodePagesFeature>() is { } pages)
            {
                pages.Enabled = false;
            }
            context.HttpContext.Response.Headers.Allow = "GET, HEAD";
            context.Result = new Microsoft.AspNetCore.Mvc.ContentResult
            {
                StatusCode = StatusCodes.Status405MethodNotAllowed, ContentType = "text/plain; charset=utf-8", Content = "This page takes no form posts.",
            };
            return Task.CompletedTask;
        }
        return next();
    }
}
