using Closeloop.Data;
using Closeloop.Organisation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record TeamRow(long Id, string Code, string Name, string? Site, string? Supervisor, int Members);

/// <summary>Teams and their supervisors (who own the team's alerts); sites are created here too, and get their hours on the sites page.</summary>
public sealed class TeamsModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public List<TeamRow> Teams { get; private set; } = [];

    public List<(string Code, string Name, string Kind)> Sites { get; private set; } = [];

    public List<string> People { get; private set; } = [];

    public string? Error { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostSiteAsync(string? code, string? name, string? kind, CancellationToken ct)
    {
        var c = code?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(c) || c.Length > 100)
        {
            return await FailAsync("code: is required (at most 100 characters)", ct);
        }
        if (await db.Sites.AnyAsync(s => s.Code == c, ct))
        {
            return await FailAsync("code: a site with this code exists", ct);
        }
        var k = string.IsNullOrWhiteSpace(kind) ? SiteKinds.InHouse : kind.Trim();
        if (!SiteKinds.IsValid(k))
        {
            return await FailAsync("kind: must be in_house or vendor", ct);
        }
        db.Sites.Add(new Site { Code = c, Name = string.IsNullOrWhiteSpace(name) ? c : name.Trim(), Kind = k, CreatedAt = time.GetUtcNow() });
        await db.SaveChangesAsync(ct);
        return Redirect("/admin/teams");
    }

    public async Task<IActionResult> OnPostTeamAsync(string? code, string? name, string? site, string? supervisor, CancellationToken ct)
    {
        var c = code?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(c) || c.Length > 100)
        {
            return await FailAsync("code: is required (at most 100 characters)", ct);
        }
        var siteId = await db.Sites.Where(s => s.Code == (site ?? "").Trim().ToLowerInvariant()).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
        if (siteId is null)
        {
            return await FailAsync("site: no site with this code", ct);
        }
        var team = await db.Teams.FirstOrDefaultAsync(t => t.Code == c, ct);
        if (team is null)
        {
            team = new Team { Code = c, Name = string.IsNullOrWhiteSpace(name) ? c : name.Trim(), SiteId = siteId.Value, CreatedAt = time.GetUtcNow() };
            db.Teams.Add(team);
        }
        else
        {
            team.Name = string.IsNullOrWhiteSpace(name) ? team.Name : name.Trim();
            team.SiteId = siteId.Value;
        }
        if (!string.IsNullOrWhiteSpace(supervisor))
        {
            var email = supervisor.Trim().ToLowerInvariant();
            var userId = await db.Users.Where(u => u.Email == email).Select(u => (long?)u.Id).FirstOrDefaultAsync(ct);
            if (userId is null)
            {
                return await FailAsync("supervisor: no user with this e-mail", ct);
            }
            team.SupervisorUserId = userId;
        }
        else
        {
            team.SupervisorUserId = null;
        }
        await db.SaveChangesAsync(ct);
        return Redirect("/admin/teams");
    }

    private async Task<IActionResult> FailAsync(string message, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        Error = message;
        HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        Teams = await db.Teams.AsNoTracking().OrderBy(t => t.Code).Select(t => new TeamRow(t.Id, t.Code, t.Name,
            db.Sites.Where(s => s.Id == t.SiteId).Select(s => s.Code).FirstOrDefault(),
            db.Users.Where(u => u.Id == t.SupervisorUserId).Select(u => u.Email).FirstOrDefault(),
            db.Users.Count(u => u.TeamId == t.Id))).ToListAsync(ct);
        Sites = (await db.Sites.AsNoTracking().OrderBy(s => s.Code).Select(s => new { s.Code, s.Name, s.Kind }).ToListAsync(ct)).Select(s => (s.Code, s.Name, s.Kind)).ToList();
        People = await db.Users.AsNoTracking().Where(u => !u.Disabled).OrderBy(u => u.Email).Select(u => u.Email).ToListAsync(ct);
    }
}
