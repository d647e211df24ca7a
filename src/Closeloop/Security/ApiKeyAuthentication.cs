using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Closeloop.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Closeloop.Security;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;api key&gt;</c>. Keys are random 256-bit secrets, so one SHA-256
/// is enough to store them safely (a slow password hash buys nothing against a key that cannot be guessed),
/// and a lookup costs microseconds, which matters at thousands of requests a second.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyCache cache,
    ApiKeyThrottle throttle) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private TimeSpan? _throttled;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var key = header["Bearer ".Length..].Trim();
        if (key.Length == 0)
        {
            return AuthenticateResult.Fail("Empty API key.");
        }
        // A valid key is served even from an address that has sent too many bad ones: behind a proxy or a shared NAT
        // every client has one address, and a stranger's guesses must not cut off the integrations there.
        var principal = await cache.FindAsync(key, Context.RequestAborted);
        if (principal is not null)
        {
            return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
        }
        var address = FailureThrottle.AddressOf(Context);
        if (throttle.AnyThrottled && throttle.RetryAfter(address) is { } wait)
        {
            _throttled = wait;
            return AuthenticateResult.Fail("Too many unknown API keys from this address.");
        }
        throttle.Failed(address);
        return AuthenticateResult.Fail("Unknown or revoked API key.");
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_throttled is { } wait)
        {
            // The status only: the cookie scheme's challenge runs after this one and leaves a 429 alone, and the
            // status-code pages write the problem body.
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Task.CompletedTask;
        }
        Response.Headers.WWWAuthenticate = "Bearer";
        return base.HandleChallengeAsync(properties);
    }
}

/// <summary>Hash-to-principal cache of API keys, so authentication does not query the database per request.</summary>
public sealed class ApiKeyCache(IServiceScopeFactory scopes, TimeProvider time)
{
    // Revocations made by another process are seen within this time; this process's own are seen at once.
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (ClaimsPrincipal? Principal, DateTimeOffset Expires)> _entries = new(StringComparer.Ordinal);

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public async Task<ClaimsPrincipal?> FindAsync(string key, CancellationToken cancellationToken)
    {
        var hash = Hash(key);
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(hash, out var entry) && entry.Expires > now)
        {
            return entry.Principal;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var found = await db.ApiKeys.AsNoTracking()
            .Where(k => k.Hash == hash && k.RevokedAt == null)
            .Select(k => new { k.Id, k.Name, k.Role, k.SiteId, SiteCode = db.Sites.Where(s => s.Id == k.SiteId).Select(s => s.Code).FirstOrDefault() })
            .FirstOrDefaultAsync(cancellationToken);
        ClaimsPrincipal? principal = null;
        if (found is not null)
        {
            var claims = new List<Claim>
            {
                new(ClaimTypes.Name, $"apikey:{found.Name}"),
                new(ClaimTypes.Role, found.Role),
                new(ClaimNames.KeyId, found.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            };
            if (found.SiteId is { } siteId)
            {
                claims.Add(new Claim(ClaimNames.SiteId, siteId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                claims.Add(new Claim(ClaimNames.SiteCode, found.SiteCode ?? string.Empty));
            }
            principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthenticationHandler.SchemeName, ClaimTypes.Name, ClaimTypes.Role));
        }
        // Unknown keys are cached briefly too, so a flood of bad keys does not become a flood of queries.
        _entries[hash] = (principal, now + (principal is null ? TimeSpan.FromSeconds(2) : Lifetime));
        return principal;
    }

    public void Forget(string hash) => _entries.TryRemove(hash, out _);

    public void Clear() => _entries.Clear();
}
