using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.People;

public sealed record UserInput(string? Email, string? Name, string? Password, string? Role, string? Site, string? Team, string? Department);

public sealed record UserView(long Id, string Email, string Name, string Role, string? Site, string? Team, string? Department, bool Disabled, DateTimeOffset CreatedAt);

public sealed record PoolInput(string[]? Members);

/// <summary>
/// The body of PUT /api/v1/teams/{code}/supervisor. <c>"supervisor": null</c> clears the supervisor; a body without the
/// field (<c>{}</c>, or a misspelt name) is refused, since reading it as null once cleared supervisors by mistake.
/// </summary>
public sealed class SupervisorInput
{
    private readonly string? _supervisor;

    /// <summary>The supervisor's e-mail, or null to leave the team without one.</summary>
    public string? Supervisor
    {
        get => _supervisor;
        init
        {
            _supervisor = value;
            IsGiven = true;
        }
    }

    /// <summary>Whether the body has the field at all; the JSON reader calls the setter only then, null included.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsGiven { get; private init; }
}

public static class PeopleEndpoints
{
    public static IEndpointRouteBuilder MapPeople(this IEndpointRouteBuilder routes)
    {
        var users = routes.MapGroup("/api/v1/users").WithTags("People").RequireAuthorization(Policies.Admin);
        users.MapGet("/", async (CloseloopDb db, CancellationToken ct) => TypedResults.Ok(await UserQuery(db).ToListAsync(ct)))
            .WithName("ListUsers").WithSummary("Every person who can sign in or own alerts.");
        users.MapPost("/", async Task<IResult> (UserInput input, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var (user, errors) = await UserAccounts.CreateAsync(db, input, time.GetUtcNow(), ct);
                return user is null ? Problems.Validation(errors) : TypedResults.Created($"/api/v1/users/{user.Id}", await UserQuery(db, user.Id).FirstAsync(ct));
            })
            .WithName("CreateUser").NamesEveryBadField().WithSummary("Create a person with a role, an optional site and team, and a password for the console.");

        routes.MapPut("/api/v1/pools/{name}", async Task<IResult> (string name, PoolInput input, CloseloopDb db, CancellationToken ct) =>
            {
                var pool = name.Trim().ToLowerInvariant();
                var emails = (input.Members ?? []).Select(m => m.Trim().ToLowerInvariant()).Distinct().ToList();
                var found = await db.Users.Where(u => emails.Contains(u.Email)).Select(u => new { u.Id, u.Email }).ToListAsync(ct);
                var missing = emails.Except(found.Select(f => f.Email)).ToList();
                if (missing.Count > 0)
                {
                    return Problems.Validation("members", $"no user with e-mail {string.Join(", ", missing)}");
                }
                await db.PoolMembers.Where(p => p.Pool == pool).ExecuteDeleteAsync(ct);
                db.PoolMembers.AddRange(found.Select(f => new PoolMember { Pool = pool, UserId = f.Id }));
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(new { pool, members = found.Select(f => f.Email).Order().ToArray() });
            })
            .WithTags("People").RequireAuthorization(Policies.Admin)
            .WithName("PutPool").NamesEveryBadField().WithSummary("Set the members of an owner pool (for example recovery or qa); alerts go to the least-loaded member.");

        routes.MapPut("/api/v1/teams/{code}/supervisor", async Task<IResult> (string code, SupervisorInput input, CloseloopDb db, CancellationToken ct) =>
            {
                var team = await db.Teams.FirstOrDefaultAsync(t => t.Code == code.ToLowerInvariant(), ct);
                if (team is null)
                {
                    return TypedResults.NotFound();
                }
                if (!input.IsGiven)
                {
                    return Problems.Validation("supervisor", "is required: the supervisor's e-mail, or null to leave the team without one");
                }
                long? userId = null;
                if (input.Supervisor is { } email)
                {
                    userId = await db.Users.Where(u => u.Email == email.ToLowerInvariant()).Select(u => (long?)u.Id).FirstOrDefaultAsync(ct);
                    if (userId is null)
                    {
                        return Problems.Validation("supervisor", "no user with this e-mail");
                    }
                }
                team.SupervisorUserId = userId;
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(new { team = team.Code, supervisor = input.Supervisor?.ToLowerInvariant() });
            })
            .WithTags("Organisation").RequireAuthorization(Policies.Admin)
            .WithName("PutTeamSupervisor").NamesEveryBadField().WithSummary("Name the supervisor who owns the alerts of a team.");
        return routes;
    }

    private static IQueryable<UserView> UserQuery(CloseloopDb db, long? id = null) =>
        db.Users.AsNoTracking().Where(u => id == null || u.Id == id).OrderBy(u => u.Email).Select(u => new UserView(u.Id, u.Email, u.Name, u.Role,
            db.Sites.Where(s => s.Id == u.SiteId).Select(s => s.Code).FirstOrDefault(), db.Teams.Where(t => t.Id == u.TeamId).Select(t => t.Code).FirstOrDefault(),
            u.Department, u.Disabled, u.CreatedAt));
}

/// <summary>Creating people, shared by the API and the CLI's `user create`.</summary>
public static class UserAccounts
{
    /// <summary>
    /// A site manager sees only their site's data (PRODUCT.md), and a scope without a site is every site: so the role
    /// is refused without one rather than quietly widened to all of them.
    /// </summary>
    internal static string NeedsASite(string role) => $"is required for a {role.Replace('_', ' ')}, who sees only their site's data (a team gives it too)";

    /// <summary>
    /// The site a code names: its id, or, for a site not seen yet, its code, to be created once the rest of the request
    /// is valid (as a record naming it would create it).
    /// </summary>
    private static async Task<(long? Id, string? New)> SiteAsync(CloseloopDb db, string site, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        if (Organisation.SiteCodes.Normalize(site, errors) is not { } code)
        {
            return (null, null);
        }
        var id = await db.Sites.Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
        return (id, id is null ? code : null);
    }

    /// <summary>A role's rule on a site scope: a site-bound role needs one (unless the site or team is wrong already), an admin may not have one.</summary>
    private static void CheckScope(string? role, bool hasSite, Dictionary<string, string[]> errors)
    {
        if (role is not null && !hasSite && Roles.SiteBound.Contains(role) && !errors.ContainsKey("site") && !errors.ContainsKey("team"))
        {
            errors["site"] = [NeedsASite(role)];
        }
        if (hasSite && Roles.RefusesASite(role))
        {
            errors["site"] = [Roles.NoSiteForAnAdmin];
        }
    }

    /// <summary>
    /// Changes a person's name, role, scope, password or disabled flag (the console's user page). An empty site or
    /// team clears it; null leaves it. A new password also lifts a lockout.
    /// </summary>
    public static async Task<Dictionary<string, string[]>> UpdateAsync(CloseloopDb db, User user, UserInput input, bool? disabled, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? role = null;
        if (input.Role is not null && ((role = Roles.Normalize(input.Role)) is null || role == Roles.Integration))
        {
            errors["role"] = [$"must be one of {string.Join(", ", Roles.All.Where(r => r != Roles.Integration))}"];
        }
        if (input.Password is { } password && password.Length < 10)
        {
            errors["password"] = ["must be at least 10 characters"];
        }
        var siteId = user.SiteId;
        var teamId = user.TeamId;
        string? newSite = null;
        if (input.Site is not null)
        {
            (siteId, newSite) = input.Site.Length == 0 ? (null, null) : await SiteAsync(db, input.Site, errors, ct);
        }
        if (input.Team is not null)
        {
            teamId = null;
            if (input.Team.Length > 0)
            {
                var team = await db.Teams.Where(t => t.Code == input.Team.ToLowerInvariant()).Select(t => new { t.Id, t.SiteId }).FirstOrDefaultAsync(ct);
                if (team is null)
                {
                    errors["team"] = ["no team with this code"];
                }
                else if (input.Site is { Length: > 0 } && team.SiteId != siteId)
                {
                    errors["team"] = ["belongs to another site"];
                }
                else
                {
                    teamId = team.Id;
                    siteId = team.SiteId;
                }
            }
        }
        CheckScope(role ?? user.Role, siteId is not null || newSite is not null, errors);
        if (errors.Count > 0)
        {
            return errors;
        }
        if (newSite is not null)
        {
            siteId = await Organisation.SiteCodes.FindOrCreateAsync(db, newSite, now, ct);
        }
        user.Name = input.Name?.Trim() is { Length: > 0 } name ? name : user.Name;
        user.Role = role ?? user.Role;
        user.SiteId = siteId;
        user.TeamId = teamId;
        if (disabled == true && !user.Disabled)
        {
            // A cookie issued before the account was disabled must not come back to life when it is enabled again.
            user.EndSessions();
        }
        user.Disabled = disabled ?? user.Disabled;
        if (input.Password is not null)
        {
            user.PasswordHash = new PasswordHasher<User>().HashPassword(user, input.Password);
            user.EndSessions();
            user.LoginSucceeded();
        }
        return errors;
    }

    public static async Task<(User? User, Dictionary<string, string[]> Errors)> CreateAsync(CloseloopDb db, UserInput input, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var email = input.Email?.Trim().ToLowerInvariant();
        if (email is null || !email.Contains('@', StringComparison.Ordinal) || email.Length > 320)
        {
            errors["email"] = ["must be an e-mail address"];
        }
        else if (await db.Users.AnyAsync(u => u.Email == email, ct))
        {
            errors["email"] = ["a user with this e-mail already exists"];
        }
        var role = Roles.Normalize(input.Role);
        if (role is null || role == Roles.Integration)
        {
            errors["role"] = [$"must be one of {string.Join(", ", Roles.All.Where(r => r != Roles.Integration))}"];
        }
        if (input.Password is { } password && password.Length < 10)
        {
            errors["password"] = ["must be at least 10 characters"];
        }
        long? siteId = null, teamId = null;
        string? newSite = null;
        if (input.Site is not null)
        {
            (siteId, newSite) = await SiteAsync(db, input.Site, errors, ct);
        }
        if (input.Team is not null)
        {
            var team = await db.Teams.Where(t => t.Code == input.Team.ToLowerInvariant()).Select(t => new { t.Id, t.SiteId }).FirstOrDefaultAsync(ct);
            if (team is null)
            {
                errors["team"] = ["no team with this code"];
            }
            else if ((siteId is not null || newSite is not null) && team.SiteId != siteId)
            {
                errors["team"] = ["belongs to another site"];
            }
            else
            {
                // A team belongs to one site, so its members are scoped to that site even when none was named.
                teamId = team.Id;
                siteId ??= team.SiteId;
            }
        }
        CheckScope(role, siteId is not null || newSite is not null, errors);
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        if (newSite is not null)
        {
            siteId = await Organisation.SiteCodes.FindOrCreateAsync(db, newSite, now, ct);
        }
        var user = new User { Email = email!, Name = input.Name?.Trim() is { Length: > 0 } name ? name : email!, Role = role!, SiteId = siteId, TeamId = teamId, Department = input.Department, CreatedAt = now };
        if (input.Password is not null)
        {
            user.PasswordHash = new PasswordHasher<User>().HashPassword(user, input.Password);
        }
        db.Users.Add(user);
        await db.SaveChangesAsync(ct);
        return (user, errors);
    }
}
