using System.Globalization;
using System.Security.Claims;
using Closeloop.Data;
using Closeloop.People;
using Closeloop.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole;

public enum SignInOutcome
{
    SignedIn,
    WrongCredentials,
    LockedOut,
}

/// <summary>Checks a person's e-mail and password, keeps the lockout count, and builds the cookie's claims.</summary>
public static class PersonSignIn
{
    public const string DisplayNameClaim = "closeloop:display_name";

    /// <summary>The user's <see cref="User.SessionStamp"/> when the cookie was issued.</summary>
    public const string SessionStampClaim = "closeloop:session";

    private static readonly User StandIn = new() { Email = "", Name = "", Role = Roles.Agent };

    private static readonly Lazy<string> StandInHash = new(() => new PasswordHasher<User>().HashPassword(StandIn, Guid.NewGuid().ToString()));

    public static async Task<(SignInOutcome Outcome, ClaimsPrincipal? Principal)> CheckAsync(CloseloopDb db, SignInThrottle throttle, string email, string password,
        DateTimeOffset now, CancellationToken ct)
    {
        var normalized = email.Trim().ToLowerInvariant();
        var user = await db.Users.FirstOrDefaultAsync(u => u.Email == normalized, ct);
        if (user is null || user.Disabled || user.PasswordHash is null)
        {
            // The same answers as for an account: wrong, and after as many tries, locked. Otherwise the form would
            // tell which e-mail addresses exist. In the same time, too: a password is checked against a stand-in hash,
            // as slow as a real one (95 ms against 4 ms without it told the addresses apart).
            new PasswordHasher<User>().VerifyHashedPassword(StandIn, StandInHash.Value, password);
            throttle.UnknownAccounts.Failed(normalized);
            return (throttle.UnknownAccounts.RetryAfter(normalized) is null ? SignInOutcome.WrongCredentials : SignInOutcome.LockedOut, null);
        }
        if (user.IsLockedOut(now))
        {
            return (SignInOutcome.LockedOut, null);
        }
        var hasher = new PasswordHasher<User>();
        var verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            // Counts a wrong password: the fifth in a row locks the account for a quarter hour, and a lock that has run
            // out starts the count again. One statement, so that parallel guesses each count (reading, adding one
            // and saving lost some of them); every SET reads the row as it was.
            var lockUntil = now + User.LockoutDuration;
            await db.Users.Where(u => u.Id == user.Id).ExecuteUpdateAsync(u => u
                .SetProperty(x => x.FailedLogins, x => x.LockedUntil != null && x.LockedUntil <= now ? 1 : x.FailedLogins + 1)
                .SetProperty(x => x.LockedUntil, x => x.LockedUntil != null && x.LockedUntil > now ? x.LockedUntil
                    : (x.LockedUntil != null ? 1 : x.FailedLogins + 1) >= User.MaxFailedLogins ? lockUntil : null), ct);
            var locked = await db.Users.AsNoTracking().Where(u => u.Id == user.Id).Select(u => u.LockedUntil).FirstAsync(ct);
            return (locked is { } until && until > now ? SignInOutcome.LockedOut : SignInOutcome.WrongCredentials, null);
        }
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
        }
        user.LoginSucceeded();
        user.EnsureSessionStamp();
        await db.SaveChangesAsync(ct);
        return (SignInOutcome.SignedIn, await PrincipalAsync(db, user, ct));
    }

    /// <summary>
    /// The claims <see cref="CallerScope.From"/> reads, the same as an API key's: the name is the e-mail, because
    /// alert owners and action logs name people by e-mail.
    /// </summary>
    public static async Task<ClaimsPrincipal> PrincipalAsync(CloseloopDb db, User user, CancellationToken ct)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.Name, user.Email),
            new(ClaimTypes.Email, user.Email),
            new(ClaimTypes.Role, user.Role),
            new(ClaimNames.UserId, user.Id.ToString(CultureInfo.InvariantCulture)),
            new(DisplayNameClaim, user.Name),
        };
        if (user.SessionStamp is { } stamp)
        {
            claims.Add(new Claim(SessionStampClaim, stamp));
        }
        if (user.SiteId is { } siteId)
        {
            var code = await db.Sites.Where(s => s.Id == siteId).Select(s => s.Code).FirstOrDefaultAsync(ct);
            claims.Add(new Claim(ClaimNames.SiteId, siteId.ToString(CultureInfo.InvariantCulture)));
            claims.Add(new Claim(ClaimNames.SiteCode, code ?? string.Empty));
        }
        if (user.TeamId is { } teamId)
        {
            claims.Add(new Claim(ClaimNames.TeamId, teamId.ToString(CultureInfo.InvariantCulture)));
        }
        if (user.Department is { Length: > 0 } department)
        {
            // A department sees and works only the causes it owns.
            claims.Add(new Claim(ClaimNames.Department, department));
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, PersonAuthentication.Scheme, ClaimTypes.Name, ClaimTypes.Role));
    }
}

/// <summary>Checks each console request's cookie against the person as stored now.</summary>
public static class PersonSessions
{
    public static async Task ValidateAsync(Microsoft.AspNetCore.Authentication.Cookies.CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        if (principal?.FindFirstValue(ClaimNames.UserId) is not { } idText || !long.TryParse(idText, CultureInfo.InvariantCulture, out var id))
        {
            context.RejectPrincipal();
            return;
        }
        var db = context.HttpContext.RequestServices.GetRequiredService<CloseloopDb>();
        var user = await db.Users.AsNoTracking().Where(u => u.Id == id).Select(u => new { u.Role, u.SiteId, u.TeamId, u.Disabled, u.Email, u.SessionStamp })
            .FirstOrDefaultAsync(context.HttpContext.RequestAborted);
        var scope = CallerScope.From(principal);
        if (user is null || user.Disabled || user.Role != scope.Role || user.SiteId != scope.SiteId || user.TeamId != scope.TeamId || user.Email != scope.UserEmail
            || user.SessionStamp != principal.FindFirstValue(PersonSignIn.SessionStampClaim))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(PersonAuthentication.Scheme);
        }
    }
}
