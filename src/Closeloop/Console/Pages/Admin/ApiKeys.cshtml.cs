using Closeloop.Data;
using Closeloop.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

/// <summary>
/// API keys for machines: each with a role and an optional site scope. Only a hash is kept, so a new key is shown
/// once, in the answer to the form that created it, and never again. Creating and revoking go through <see cref="ApiKeyIssuer"/>.
/// </summary>
public sealed class ApiKeysModel(CloseloopDb db, TimeProvider time, ApiKeyCache cache) : PageModel
{
    public List<ApiKeyView> Keys { get; private set; } = [];

    public List<string> Sites { get; private set; } = [];

    public ApiKeyCreated? Created { get; private set; }

    public Dictionary<string, string[]> Errors { get; private set; } = new(StringComparer.Ordinal);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostCreateAsync(string? name, string? role, string? site, CancellationToken ct)
    {
        var (created, errors) = await ApiKeyIssuer.CreateAsync(db, new ApiKeyRequest(name, role, string.IsNullOrWhiteSpace(site) ? null : site), time.GetUtcNow(), ct);
        if (created is null)
        {
            Errors = errors;
            HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        else
        {
            // The one page that ever holds the key: no cache may keep it, and a reload must not show it again from history.
            Created = created;
            Response.Headers.CacheControl = "no-store";
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(long id, CancellationToken ct) =>
        await ApiKeyIssuer.RevokeAsync(db, cache, id, time.GetUtcNow(), ct) ? Redirect("/admin/api-keys") : NotFound();

    public IEnumerable<string> ErrorsFor(string field) => Errors.Where(e => e.Key == field).SelectMany(e => e.Value);

    private async Task LoadAsync(CancellationToken ct)
    {
        Keys = await db.ApiKeys.AsNoTracking().OrderBy(k => k.RevokedAt != null).ThenByDescending(k => k.Id)
            .Select(k => new ApiKeyView(k.Id, k.Name, k.Prefix, k.Role, db.Sites.Where(s => s.Id == k.SiteId).Select(s => s.Code).FirstOrDefault(), k.CreatedAt, k.RevokedAt))
            .ToListAsync(ct);
        Sites = await db.Sites.AsNoTracking().OrderBy(s => s.Code).Select(s => s.Code).ToListAsync(ct);
    }
}
