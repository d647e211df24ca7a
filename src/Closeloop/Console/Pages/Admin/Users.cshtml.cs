using Closeloop.Data;
using Closeloop.People;
using Closeloop.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record UserRow(long Id, string Email, string Name, string Role, string? Site, string? Team, bool Disabled, bool Locked);

/// <summary>People: who signs in, with which role and which site or team scope. Admins only (the folder's policy).</summary>
public sealed class UsersModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public List<UserRow> Users { get; private set; } = [];

    public List<string> Sites { get; private set; } = [];

    public List<string> Teams { get; private set; } = [];

    public string? Error { get; private set; }

    public string? Done { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostCreateAsync(string? email, string? name, string? password, string? role, string? site, string? team, CancellationToken ct)
    {
        var (user, errors) = await UserAccounts.CreateAsync(db, new UserInput(email, name, password, role, Blank(site), Blank(team), null), time.GetUtcNow(), ct);
        if (user is null)
        {
            return await FailAsync(errors, ct);
        }
        return Redirect("/admin/users");
    }

    public async Task<IActionResult> OnPostUpdateAsync(long id, string? name, string? role, string? site, string? team, bool disabled, string? password, CancellationToken ct)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == id, ct);
        if (user is null)
        {
            return NotFound();
        }
        var errors = await UserAccounts.UpdateAsync(db, user, new UserInput(null, name, Blank(password), role, Blank(site) ?? "", Blank(team) ?? "", null), disabled, time.GetUtcNow(), ct);
        if (errors.Count > 0)
        {
            db.ChangeTracker.Clear();
            return await FailAsync(errors, ct);
        }
        await db.SaveChangesAsync(ct);
        return Redirect("/admin/users");
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private async Task<IActionResult> FailAsync(Dictionary<string, string[]> errors, CancellationToken ct)
    {
        Error = string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
        HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        Users = (await db.Users.AsNoTracking().OrderBy(u => u.Email).Select(u => new
            {
                u.Id, u.Email, u.Name, u.Role, u.Disabled, u.LockedUntil,
                Site = db.Sites.Where(s => s.Id == u.SiteId).Select(s => s.Code).FirstOrDefault(),
                Team = db.Teams.Where(t => t.Id == u.TeamId).Select(t => t.Code).FirstOrDefault(),
            }).ToListAsync(ct))
            .Select(u => new UserRow(u.Id, u.Email, u.Name, u.Role, u.Site, u.Team, u.Disabled, u.LockedUntil > now)).ToList();
        Sites = await db.Sites.AsNoTracking().OrderBy(s => s.Code).Select(s => s.Code).ToListAsync(ct);
        Teams = await db.Teams.AsNoTracking().OrderBy(t => t.Code).Select(t => t.Code).ToListAsync(ct);
    }
}
