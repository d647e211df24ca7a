using Closeloop.Alerts;
using Closeloop.Broadcasts;
using Closeloop.Contacts;
using Closeloop.Customers;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Insights;
using Closeloop.Live;
using Closeloop.Notifications;
using Closeloop.People;
using Closeloop.RootCauses;
using Closeloop.Surveys;
using Closeloop.Metrics;
using Closeloop.Organisation;
using Closeloop.Responses;
using Closeloop.Security;
using Closeloop.Web;
using Closeloop.WebConsole;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;

namespace Closeloop;

/// <summary>Composes the web app: services, middleware and the feature endpoints, listed by name.</summary>
public static class CloseloopApp
{
    private static readonly NulTextGuard Guard = new();

    public static WebApplication Build(string[] args)
    {
        var demo = args.Contains("--demo", StringComparer.OrdinalIgnoreCase);
        // The content root is the app's own folder, so appsettings.json is found whatever the working directory
        // (the database file, a relative path, still lands in the working directory).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args.Where(a => !a.Equals("--demo", StringComparison.OrdinalIgnoreCase)).ToArray(),
            ContentRootPath = AppContext.BaseDirectory,
        });
        if (demo)
        {
            builder.Configuration["Demo:Load"] = "true";
        }

        builder.Services.AddCloseloopCore();
        builder.Services.AddHostedService<StartupTasks>();
        builder.Services.AddSingleton<IngestWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IngestWriter>());
        builder.Services.AddSingleton<IngestPipeline>();
        builder.Services.AddSingleton<ApiKeyCache>();
        builder.Services.AddSingleton<AlertActions>();
        builder.Services.AddSingleton<AlertDeadlineWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AlertDeadlineWorker>());
        builder.Services.AddSingleton<Destinations>();
        builder.Services.AddSingleton<OutboxSender>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxSender>());
        builder.Services.AddSingleton<PostgresEventRelay>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PostgresEventRelay>());
        builder.Services.AddHttpClient("webhooks", client => client.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookNetwork.Handler(WebhookNetwork.AllowsLinkLocal(sp.GetRequiredService<IConfiguration>())));
        builder.Services.AddHostedService<ExampleRefresher>();
        builder.Services.AddSingleton<RecurringCauseWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RecurringCauseWorker>());
        builder.Services.AddSingleton<ImprovementShipping>();

        // Behind a reverse proxy, the client's address (for the throttles and rate limits) and scheme (for Secure
        // cookies) come from its X-Forwarded-* headers, trusted only from the proxies named here.
        var proxies = (builder.Configuration["ForwardedHeaders:KnownProxies"] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        builder.Services.Configure<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in proxies)
            {
                options.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
            }
        });
        builder.Services.AddSingleton<ApiKeyThrottle>();
        builder.Services.AddSingleton<SignInThrottle>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(PersonAuthentication.Scheme, options =>
            {
                options.LoginPath = "/login";
                options.Cookie.Name = "closeloop";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.SlidingExpiration = true;
                options.ExpireTimeSpan = TimeSpan.FromHours(10);
                // A person disabled, or given another role or scope, loses the old session at the next request.
                options.Events.OnValidatePrincipal = PersonSessions.ValidateAsync;
                // An API client gets a status code, not a redirect to a sign-in page it cannot use.
                options.Events.OnRedirectToLogin = context => RedirectOrStatus(context, StatusCodes.Status401Unauthorized);
                // A console page the person may not see answers 404 like a missing one, so nothing leaks.
                options.Events.OnRedirectToAccessDenied = context => context.Request.Path.StartsWithSegments("/api")
                    ? RedirectOrStatus(context, StatusCodes.Status403Forbidden)
                    : ConsoleSetup.NotFoundInsteadOfForbidden(context);
            });
        builder.Services.AddAuthorization(Policies.Add);
        builder.Services.AddConsole();
        builder.Services.AddPublicSurveyLimits();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        // Binding failures (?limit=abc) throw in every environment, so the handler can name the field; by default
        // production answers them with an empty 400.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi("v1", Web.OpenApiContract.Configure);
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database");
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
        });

        var app = builder.Build();
        // Ids with an encoded '/' or '%' are set right before routing reads the path (routing would otherwise run first).
        if (proxies.Length > 0)
        {
            app.UseForwardedHeaders();
        }
        app.UseRawIdSegments();
        app.UseRouting();
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // People get an HTML page for 404 and friends; API clients keep their problem details.
        app.UseWhen(context => !context.Request.Path.StartsWithSegments("/api"), branch => branch.UseStatusCodePagesWithReExecute("/errors/{0}"));
        // Static files (the console's CSS and scripts) are public and need no database or sign-in.
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseCookieAntiforgeryForApi();
        app.UseRateLimiter();
        app.UseNulRefusal();
        app.UseBufferedModelBodies();

        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapHealthChecks("/health").AllowAnonymous();
        app.MapContacts();
        app.MapResponses();
        app.MapCustomers();
        app.MapOrganisation();
        app.MapMetrics();
        app.MapApiKeys();
        app.MapAlerts();
        app.MapRootCauses();
        app.MapWebhooks();
        app.MapOutbox();
        app.MapPeople();
        app.MapSurveyInvitations();
        app.MapSurveys();
        app.MapPublicSurveys();
        app.MapInsights();
        app.MapRecurringCauses();
        app.MapCustomerNotes();
        app.MapBroadcasts();
        app.MapConsole();
        return app;
    }

    /// <summary>The services the web app and the CLI verbs share.</summary>
    public static IServiceCollection AddCloseloopCore(this IServiceCollection services)
    {
        // Read lazily, when the container is built, so that test hosts and --Key=value overrides are seen.
        services.AddSingleton(sp => DatabaseOptions.FromConfiguration(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<Db>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<Migrator>();
        services.AddDbContextPool<CloseloopDb>((sp, options) =>
        {
            var database = sp.GetRequiredService<DatabaseOptions>();
            if (database.Provider == DatabaseProvider.Sqlite)
            {
                options.UseSqlite(database.ConnectionString).AddInterceptors(SqliteFunctions.Instance);
            }
            else
            {
                options.UseNpgsql(database.ConnectionString);
            }
            options.AddInterceptors(Guard);
        });
        services.AddOptions<IngestOptions>().Configure<IConfiguration>((options, config) =>
        {
            if (config["Ingest:RepeatWindow"] is { } window)
            {
                // An ISO 8601 duration such as P7D, as everywhere else in the configuration.
                options.RepeatWindow = System.Xml.XmlConvert.ToTimeSpan(window);
            }
        });
        services.AddSingleton(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<IngestOptions>>().Value);
        services.AddSingleton<IngestStore>();
        services.AddSingleton<AlertRuleCache>();
        services.AddSingleton<OwnerResolver>();
        services.AddSingleton<SiteCalendars>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<Outbox>();
        services.AddSingleton<AlertEventHub>();
        services.AddSingleton<AlertEventPublisher>();
        services.AddSingleton<BroadcastHub>();
        services.AddSingleton<BroadcastPublisher>();
        services.AddSingleton<AlertEngine>();
        services.AddSingleton<IIngestObserver>(sp => sp.GetRequiredService<AlertEngine>());
        services.AddSingleton<IIngestObserver, FeedbackPreferenceCapture>();
        services.AddSingleton<TextInsights>();
        services.AddSingleton<DatabaseReadiness>();
        return services;
    }

    private static Task RedirectOrStatus(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (context.Response.StatusCode == StatusCodes.Status429TooManyRequests)
        {
            // The API key scheme throttled this address (ApiKeyThrottle); that answer stands.
            return Task.CompletedTask;
        }
        if (context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }
}
