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

    public static IServiceCollection AddConsole(this IServiceCollection services)
    {
        services.AddRazorPages(options =>
        {
            options.RootDirectory = "/Console/Pages";
            options.Conventions.AuthorizeFolder("/", PersonPolicy);
            options.Conventions.AuthorizeFolder("/Admin", AdminPolicy);
            options.Conventions.AllowAnonymousToPage("/Login");
            options.Conventions.AllowAnonymousToPage("/Errors/Status");
        });
        services.AddDataProtection().SetApplicationName("closeloop");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceScopeFactory>((options, scopes) => options.XmlRepository = new DatabaseXmlRepository(scopes));
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "closeloop-af";
            options.Cookie.SameSite = SameSiteMode.Strict;
            // Lets the console's scripts send the token with fetch() to a page handler.
            options.HeaderName = "X-CSRF-TOKEN";
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(PersonPolicy, p => p.AddAuthenticationSchemes(PersonAuthentication.Scheme).RequireAuthenticatedUser())
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(PersonAuthentication.Scheme).RequireAuthenticatedUser().RequireRole(Roles.Admin));
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
