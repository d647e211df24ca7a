using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Organisation;

public sealed record SiteView(string Code, string Name, string Kind, string TimeZone, DateTimeOffset CreatedAt)
{
    public string? Manager { get; init; }
    public System.Text.Json.JsonElement? BusinessHours { get; init; }
    public string[]? Holidays { get; init; }
}

public sealed record TeamView(string Code, string Name, string? Site, DateTimeOffset CreatedAt);

public sealed record AgentView(string Code, string Name, string? Team, string? Site, DateTimeOffset CreatedAt);

public sealed record SiteUpdate(string? Name, string? Kind, string? TimeZone, string? Manager, System.Text.Json.JsonElement? BusinessHours, string[]? Holidays);

public sealed record NameUpdate(string? Name);

public static class OrganisationEndpoints
{
    public static IEndpointRouteBuilder MapOrganisation(this IEndpointRouteBuilder routes)
    {
        var sites = routes.MapGroup("/api/v1/sites").WithTags("Organisation");
        sites.MapGet("/", async (HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                return TypedResults.Ok(await db.Sites.AsNoTracking().Where(s => scope.SiteId == null || s.Id == scope.SiteId).OrderBy(s => s.Code)
                    .Select(s => new SiteView(s.Code, s.Name, s.Kind, s.TimeZone, s.CreatedAt)).ToListAsync(ct));
            })
            .WithName("ListSites").WithSummary("The sites the caller may see.");
        sites.MapGet("/{code}", async Task<Results<Ok<SiteView>, NotFound>> (string code, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var site = await db.Sites.AsNoTracking().Where(s => s.Code == code.ToLowerInvariant() && (scope.SiteId == null || s.Id == scope.SiteId))
                    .Select(s => new SiteView(s.Code, s.Name, s.Kind, s.TimeZone, s.CreatedAt)).FirstOrDefaultAsync(ct);
                return site is null ? TypedResults.NotFound() : TypedResults.Ok(site);
            })
            .WithName("GetSite").WithSummary("One site.");
        sites.MapPut("/{code}", async Task<IResult> (string code, SiteUpdate update, CloseloopDb db, TimeProvider time, Alerts.SiteCalendars calendars, CancellationToken ct) =>
            {
                var change = await SiteSettings.ApplyAsync(db, calendars, code, update, time.GetUtcNow(), ct);
                if (change.Site is not { } site)
                {
                    return Problems.Validation(change.Errors);
                }
                var view = new SiteView(site.Code, site.Name, site.Kind, site.TimeZone, site.CreatedAt)
                {
                    Manager = update.Manager?.ToLowerInvariant(),
                    BusinessHours = site.BusinessHours is null ? null : System.Text.Json.JsonDocument.Parse(site.BusinessHours).RootElement.Clone(),
                    Holidays = site.Holidays is null ? null : SiteSettings.Holidays(site),
                };
                return change.Created ? TypedResults.Created($"/api/v1/sites/{site.Code}", view) : TypedResults.Ok(view);
            })
            .RequireAuthorization(Policies.Admin)
            .WithName("PutSite").NamesEveryBadField().WithSummary("Create or change a site: name, kind (in_house or vendor), IANA time zone, manager (e-mail), weekly business hours and holidays.");

        sites.MapPut("/{code}/holidays.ics", async Task<IResult> (string code, HttpRequest request, CloseloopDb db, Alerts.SiteCalendars calendars, CancellationToken ct) =>
            {
                var site = await db.Sites.FirstOrDefaultAsync(s => s.Code == code.ToLowerInvariant(), ct);
                if (site is null)
                {
                    return TypedResults.NotFound();
                }
                using var reader = new StreamReader(request.Body);
                var text = await reader.ReadToEndAsync(ct);
                if (await SiteSettings.ImportHolidaysAsync(db, calendars, site, text, ct) is not { } result)
                {
                    return Problems.Validation("body", SiteSettings.NotICalendar);
                }
                return TypedResults.Ok(new { site = site.Code, imported = result.Imported, holidays = result.Holidays });
            })
            .RequireAuthorization(Policies.Admin)
            .Accepts<string>("text/calendar")
            .WithName("ImportSiteHolidays").WithSummary("Add the all-day events of an iCalendar file to a site's holidays (closed days for business-hours deadlines).");

        var teams = routes.MapGroup("/api/v1/teams").WithTags("Organisation");
        teams.MapGet("/", async (HttpContext http, CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok(await TeamQuery(db, CallerScope.From(http.User)).ToListAsync(ct)))
            .WithName("ListTeams").WithSummary("The teams the caller may see.");
        teams.MapGet("/{code}", async Task<Results<Ok<TeamView>, NotFound>> (string code, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await TeamQuery(db, CallerScope.From(http.User), code.ToLowerInvariant()).FirstOrDefaultAsync(ct) is { } team
                    ? TypedResults.Ok(team) : TypedResults.NotFound())
            .WithName("GetTeam").WithSummary("One team.");

        var agents = routes.MapGroup("/api/v1/agents").WithTags("Organisation");
        agents.MapGet("/", async (HttpContext http, CloseloopDb db, CancellationToken ct) =>
                TypedResults.Ok(await AgentQuery(db, CallerScope.From(http.User)).ToListAsync(ct)))
            .WithName("ListAgents").WithSummary("The agents the caller may see.");
        agents.MapGet("/{code}", async Task<Results<Ok<AgentView>, NotFound>> (string code, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await AgentQuery(db, CallerScope.From(http.User), code.ToLowerInvariant()).FirstOrDefaultAsync(ct) is { } agent
                    ? TypedResults.Ok(agent) : TypedResults.NotFound())
            .WithName("GetAgent").WithSummary("One agent.");
        agents.MapPut("/{code}", async Task<Results<Ok<AgentView>, NotFound>> (string code, NameUpdate update, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var agent = await db.Agents.FirstOrDefaultAsync(a => a.Code == code.ToLowerInvariant(), ct);
                if (agent is null)
                {
                    return TypedResults.NotFound();
                }
                agent.Name = update.Name?.Trim() is { Length: > 0 } name ? name : agent.Name;
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(await AgentQuery(db, CallerScope.From(http.User), agent.Code).FirstAsync(ct));
            })
            .RequireAuthorization(Policies.Admin)
            .WithName("RenameAgent").NamesEveryBadField().WithSummary("Give an agent a display name.");
        return routes;
    }

    private static IQueryable<TeamView> TeamQuery(CloseloopDb db, CallerScope scope, string? code = null) =>
        db.Teams.AsNoTracking().Where(t => (scope.SiteId == null || t.SiteId == scope.SiteId) && (code == null || t.Code == code)).OrderBy(t => t.Code)
            .Select(t => new TeamView(t.Code, t.Name, db.Sites.Where(s => s.Id == t.SiteId).Select(s => s.Code).FirstOrDefault(), t.CreatedAt));

    private static IQueryable<AgentView> AgentQuery(CloseloopDb db, CallerScope scope, string? code = null) =>
        db.Agents.AsNoTracking().Where(a => (scope.SiteId == null || a.SiteId == scope.SiteId) && (code == null || a.Code == code)).OrderBy(a => a.Code)
            .Select(a => new AgentView(a.Code, a.Name, db.Teams.Where(t => t.Id == a.TeamId).Select(t => t.Code).FirstOrDefault(),
                db.Sites.Where(s => s.Id == a.SiteId).Select(s => s.Code).FirstOrDefault(), a.CreatedAt));
}
