using Closeloop.Broadcasts;
using Closeloop.Data;
using Closeloop.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Broadcasts;

public sealed class IndexModel(CloseloopDb db, TimeProvider time, BroadcastPublisher publisher) : PageModel
{
    public List<BroadcastView> Broadcasts { get; private set; } = [];

    public Dictionary<long, ReceiptsView> Receipts { get; private set; } = [];

    public List<string> Sites { get; private set; } = [];

    public List<(string Code, string Site)> Teams { get; private set; } = [];

    public string? Error { get; private set; }

    public bool CanPost => User.CanBroadcast();

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostAsync(string? message, string? priority, string? site, string? team, string? expiresIn, CancellationToken ct)
    {
        if (!CanPost)
        {
            return NotFound();
        }
        var scope = CallerScope.From(User);
        var (broadcast, errors) = await BroadcastEndpoints.CreateAsync(db, scope, User.DisplayName(), new BroadcastInput(message, priority, site, team, expiresIn), time.GetUtcNow(), ct);
        if (broadcast is null)
        {
            Error = string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
            HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
            await LoadAsync(ct);
            return Page();
        }
        await BroadcastEndpoints.PublishPostedAsync(db, publisher, broadcast, ct);
        return Redirect("/broadcasts");
    }

    public async Task<IActionResult> OnPostWithdrawAsync(long id, CancellationToken ct)
    {
        var scope = CallerScope.From(User);
        var broadcast = await db.Broadcasts.FirstOrDefaultAsync(b => b.Id == id, ct);
        if (broadcast is null || !CanPost || !broadcast.ReceiptsVisibleTo(scope))
        {
            return NotFound();
        }
        broadcast.Withdraw(time.GetUtcNow());
        await db.SaveChangesAsync(ct);
        await publisher.PublishAsync(db, new BroadcastEvent("broadcast.withdrawn", id, broadcast.SiteId, broadcast.TeamId, broadcast.Sender, null), ct);
        return Redirect("/broadcasts");
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var scope = CallerScope.From(User);
        Broadcasts = await BroadcastEndpoints.ListAsync(db, scope, time.GetUtcNow(), true, ct);
        foreach (var b in Broadcasts)
        {
            if (await BroadcastEndpoints.ReceiptsAsync(db, scope, b.Id, ct) is { } receipts)
            {
                Receipts[b.Id] = receipts;
            }
        }
        var sites = db.Sites.AsNoTracking().Where(s => scope.SiteId == null || s.Id == scope.SiteId);
        Sites = await sites.OrderBy(s => s.Code).Select(s => s.Code).ToListAsync(ct);
        Teams = (await db.Teams.AsNoTracking().Where(t => sites.Any(s => s.Id == t.SiteId)).OrderBy(t => t.Code)
            .Select(t => new { t.Code, Site = sites.Where(s => s.Id == t.SiteId).Select(s => s.Code).First() }).ToListAsync(ct)).Select(t => (t.Code, t.Site)).ToList();
    }
}
