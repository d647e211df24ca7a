using System.Security.Cryptography;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Security;

/// <summary>Issues API keys; shared by the HTTP API, the CLI and the start-up bootstrap.</summary>
public static class ApiKeyIssuer
{
    /// <summary>Creates a key and returns it in clear, once: only its hash is kept.</summary>
    public static async Task<(ApiKey Entity, string Key)> CreateAsync(CloseloopDb db, string name, string role, long? siteId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = "cl_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var entity = new ApiKey
        {
            Name = name,
            Prefix = key[..10],
            Hash = ApiKeyCache.Hash(key),
            Role = role,
            SiteId = siteId,
            CreatedAt = now,
        };
        db.ApiKeys.Add(entity);
        await db.SaveChangesAsync(cancellationToken);
        return (entity, key);
    }

    /// <summary>
    /// Validates a request for a key (name, role, site scope, which a site_manager key must have) and creates it; shared by the HTTP API and the
    /// console's API keys page. The answer holds the key in clear, the only time it is ever shown.
    /// </summary>
    public static async Task<(ApiKeyCreated? Created, Dictionary<string, string[]> Errors)> CreateAsync(CloseloopDb db, ApiKeyRequest request, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var role = Roles.Normalize(request.Role);
        if (role is null)
        {
            errors["role"] = [$"must be one of {string.Join(", ", Roles.All)}"];
        }
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            errors["name"] = ["is required (at most 200 characters)"];
        }
        var siteCode = request.Site is null ? null : Organisation.SiteCodes.Normalize(request.Site, errors);
        if (request.Site is not null && Roles.RefusesASite(role))
        {
            errors["site"] = [Roles.NoSiteForAnAdmin];
        }
        if (request.Site is null && Roles.SiteBound.Contains(role))
        {
            // An unscoped key sees every site: a site manager's (or agent's…) key without a site would see what its role must not.
            errors["site"] = [$"is required for a {role} key, which sees only that site's data"];
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        // A site not seen yet is created, as a record naming it would create it.
        long? siteId = siteCode is null ? null : await Organisation.SiteCodes.FindOrCreateAsync(db, siteCode, now, cancellationToken);
        var (entity, key) = await CreateAsync(db, name!, role!, siteId, now, cancellationToken);
        return (new ApiKeyCreated(entity.Id, entity.Name, entity.Role, siteCode, key), errors);
    }

    /// <summary>Revokes a key at once, in this process's cache too; false when there is no such key.</summary>
    public static async Task<bool> RevokeAsync(CloseloopDb db, ApiKeyCache cache, long id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, cancellationToken);
        if (key is null)
        {
            return false;
        }
        key.RevokedAt ??= now;
        await db.SaveChangesAsync(cancellationToken);
        cache.Forget(key.Hash);
        return true;
    }

    private const string BootstrapName = "bootstrap admin (CLOSELOOP_ADMIN_API_KEY)";

    /// <summary>
    /// Makes sure the key named by CLOSELOOP_ADMIN_API_KEY exists, so a fresh deployment can be reached, and revokes
    /// the keys an earlier value of the variable made: changing the value is how an operator rotates a leaked key.
    /// </summary>
    public static async Task EnsureBootstrapKeyAsync(CloseloopDb db, string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hash = ApiKeyCache.Hash(key);
        foreach (var stale in await db.ApiKeys.Where(k => k.Name == BootstrapName && k.Hash != hash && k.RevokedAt == null).ToListAsync(cancellationToken))
        {
            stale.RevokedAt = now;
        }
        var existing = await db.ApiKeys.FirstOrDefaultAsync(k => k.Hash == hash, cancellationToken);
        if (existing is null)
        {
            db.ApiKeys.Add(new ApiKey { Name = BootstrapName, Prefix = key.Length > 10 ? key[..4] + "…" : "…", Hash = hash, Role = Roles.Admin, CreatedAt = now });
        }
        else if (existing.RevokedAt is not null || existing.Role != Roles.Admin || existing.SiteId is not null)
        {
            existing.RevokedAt = null;
            existing.Role = Roles.Admin;
            existing.SiteId = null;
        }
        await db.SaveChangesAsync(cancellationToken);
    }
}
