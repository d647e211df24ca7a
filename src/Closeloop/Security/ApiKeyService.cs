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
        var key = "cl_" + Base64Url(RandomNumberGenerator.GetBytes(32));
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

    /// <summary>Makes sure the key named by CLOSELOOP_ADMIN_API_KEY exists, so a fresh deployment can be reached.</summary>
    public static async Task EnsureBootstrapKeyAsync(CloseloopDb db, string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hash = ApiKeyCache.Hash(key);
        var existing = await db.ApiKeys.FirstOrDefaultAsync(k => k.Hash == hash, cancellationToken);
        if (existing is null)
        {
            db.ApiKeys.Add(new ApiKey { Name = "bootstrap admin (CLOSELOOP_ADMIN_API_KEY)", Prefix = key.Length > 10 ? key[..4] + "…" : "…", Hash = hash, Role = Roles.Admin, CreatedAt = now });
        }
        else if (existing.RevokedAt is not null || existing.Role != Roles.Admin || existing.SiteId is not null)
        {
            existing.RevokedAt = null;
            existing.Role = Roles.Admin;
            existing.SiteId = null;
        }
        await db.SaveChangesAsync(cancellationToken);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
