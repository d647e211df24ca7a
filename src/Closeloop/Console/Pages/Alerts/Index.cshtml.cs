using Closeloop.Alerts;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Alerts;

public sealed record AlertRow(AlertView View, bool CanWork);

public sealed class IndexModel(CloseloopDb db, AlertActions actions) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Site { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Team { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Owner { get; set; }

    [BindProperty(SupportsGet = true)]
    public long? Rule { get; set; }

    [BindProperty(SupportsGet = true)]
    public bool Mine { get; set; }

    public InboxFilter Filter => new(Status, Site, Team, Owner, Rule, Mine);

    public List<AlertView> Alerts { get; private set; } = [];

    public List<string> Sites { get; private set; } = [];

    public List<string> Teams { get; private set; } = [];

    public List<(long Id, string Name)> Rules { get; private set; } = [];

    public bool CanWork => AlertInbox.CanWork(User);

    public string? Error { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return NotFound();
        }
        var scope = CallerScope.From(User);
        var status = Filter.StatusOrDefault;
        if (status != "all" && status != "active" && !AlertStatus.All.Contains(status))
        {
            Status = null;
            Error = $"Unknown status '{status}': showing the active alerts.";
        }
        Alerts = await AlertViews.ProjectAsync(db, AlertInbox.Query(db, scope, Filter).OrderByDescending(a => a.Id).Take(AlertInbox.PageSize), false, ct);
        var sites = db.Sites.AsNoTracking().Where(s => scope.SiteId == null || s.Id == scope.SiteId);
        Sites = await sites.OrderBy(s => s.Code).Select(s => s.Code).ToListAsync(ct);
        Teams = await db.Teams.AsNoTracking().Where(t => sites.Any(s => s.Id == t.SiteId)).OrderBy(t => t.Code).Select(t => t.Code).ToListAsync(ct);
        Rules = (await AlertEndpoints.VisibleRules(db, scope).OrderBy(r => r.Name).Select(r => new { r.Id, r.Name }).ToListAsync(ct))
            .Select(r => (r.Id, r.Name)).ToList();
        return Page();
    }

    /// <summary>The inbox as CSV, with the page's filters: every matching alert, read and written a batch at a time.</summary>
    public async Task<IActionResult> OnGetCsvAsync(CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return NotFound();
        }
        var query = AlertInbox.Query(db, CallerScope.From(User), Filter);
        string[] header = ["id", "status", "created_at", "due_at", "customer", "rule", "site", "team", "agent", "owner", "escalation_level", "root_cause", "outcome"];
        await CsvExport.WriteAsync(Response, "closeloop-alerts.csv", header, Batches(query, ct), ct);
        return new EmptyResult();
    }

    private async IAsyncEnumerable<object?[]> Batches(IQueryable<Alert> query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        long? before = null;
        while (true)
        {
            var page = before is { } id ? query.Where(a => a.Id < id) : query;
            var batch = await AlertViews.ProjectAsync(db, page.OrderByDescending(a => a.Id).Take(500), false, ct);
            foreach (var a in batch)
            {
                yield return [a.Id, a.Status, a.CreatedAt, a.DueAt, a.Customer, a.Rule, a.Site, a.Team, a.Agent, a.Owner, a.EscalationLevel, a.RootCause, a.Outcome];
            }
            if (batch.Count < 500)
            {
                yield break;
            }
            before = batch.Min(a => a.Id);
        }
    }

    /// <summary>
    /// One row, rendered on the server for the live inbox: the page asks for it when the stream says an alert
    /// changed, with its own filters, and gets 204 when the alert no longer belongs in its list.
    /// </summary>
    public async Task<IActionResult> OnGetRowAsync(long id, CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return NotFound();
        }
        var view = (await AlertViews.ProjectAsync(db, AlertInbox.Query(db, CallerScope.From(User), Filter).Where(a => a.Id == id), false, ct)).FirstOrDefault();
        return view is null ? new NoContentResult() : Partial("_AlertRow", new AlertRow(view, CanWork));
    }

    /// <summary>One-click acknowledge from the inbox.</summary>
    public async Task<IActionResult> OnPostAcknowledgeAsync(long id, CancellationToken ct)
    {
        var scope = CallerScope.From(User);
        if (!CanWork || !await AlertViews.Visible(db, scope).AnyAsync(a => a.Id == id, ct))
        {
            return NotFound();
        }
        var alert = await db.Alerts.FirstAsync(a => a.Id == id, ct);
        using var body = System.Text.Json.JsonDocument.Parse("""{"type":"acknowledge"}""");
        try
        {
            await actions.ApplyAsync(db, alert, body.RootElement, scope, ct);
        }
        catch (AlertTransitionException)
        {
            // Someone else acknowledged it first; the row shows the alert as it is now.
        }
        if (Request.Headers["X-Requested-With"] == "fetch")
        {
            return await OnGetRowAsync(id, ct);
        }
        return Redirect("/alerts" + (Filter.QueryString() is { Length: > 0 } q ? "?" + q : ""));
    }
}
