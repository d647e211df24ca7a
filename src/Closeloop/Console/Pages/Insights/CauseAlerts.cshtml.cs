using Closeloop.Data;
using Closeloop.Insights;
using Closeloop.Live;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Insights;

/// <summary>Rising causes for the departments that own them: the list, one alert's evidence, and the steps on it.</summary>
public sealed class CauseAlertsModel(CloseloopDb db, TimeProvider time, AlertEventPublisher publisher, Closeloop.Broadcasts.BroadcastPublisher broadcasts) : PageModel
{
    [BindProperty(SupportsGet = true)] public long? Id { get; set; }
    [BindProperty(SupportsGet = true)] public string? Status { get; set; }

    public IReadOnlyList<CauseAlertView> Alerts { get; private set; } = [];
    public CauseAlertView? Alert { get; private set; }
    public IReadOnlyList<ImprovementAction> Actions { get; private set; } = [];
    public string? Message { get; private set; }
    public Dictionary<string, string[]> Errors { get; private set; } = [];
    public bool MayWork => CauseWork.MayWork(User) && !User.IsInRole(Security.Roles.Executive);

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (!CauseWork.MayRead(User))
        {
            return NotFound();
        }
        return await LoadAsync(ct) ? Page() : NotFound();
    }

    public async Task<IActionResult> OnPostStepAsync(string verb, CancellationToken ct)
    {
        if (!MayWork || Id is null || verb is not ("acknowledge" or "close"))
        {
            return NotFound();
        }
        var (alert, conflict) = await CauseWork.ChangeAlertAsync(db, publisher, User, Id.Value, verb, time.GetUtcNow(), ct);
        if (alert is null)
        {
            return NotFound();
        }
        Message = conflict ?? (verb == "acknowledge" ? "Acknowledged." : "Closed.");
        if (conflict is not null)
        {
            Response.StatusCode = StatusCodes.Status409Conflict;
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostBroadcastAsync(string? message, string? priority, CancellationToken ct)
    {
        if (!User.CanBroadcast() || Id is null)
        {
            return NotFound();
        }
        var (broadcast, errors, found) = await CauseWork.BroadcastAsync(db, broadcasts, User, Id.Value, new Closeloop.Broadcasts.BroadcastInput(message, priority, null, null, null), time.GetUtcNow(), ct);
        if (!found)
        {
            return NotFound();
        }
        Message = broadcast is null ? string.Join(" ", errors.Select(e => $"{e.Key} {e.Value[0]}")) : "Broadcast posted to agents.";
        if (broadcast is null)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostActionAsync(string? title, string? owner, string? dueAt, string? message, string? description, CancellationToken ct)
    {
        if (!MayWork || Id is null)
        {
            return NotFound();
        }
        var cause = await CauseWork.Visible(db.CauseAlerts.AsNoTracking(), User).Where(a => a.Id == Id).Select(a => a.Cause).FirstOrDefaultAsync(ct);
        if (cause is null)
        {
            return NotFound();
        }
        var (action, errors) = await CauseWork.CreateActionAsync(db, User, new ImprovementInput(cause, title, owner, description, message, dueAt, Id, null, null), time.GetUtcNow(), ct);
        if (action is null)
        {
            Errors = errors;
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await LoadAsync(ct);
            return Page();
        }
        return Redirect($"/insights/actions#action-{action.Id}");
    }

    private async Task<bool> LoadAsync(CancellationToken ct)
    {
        var names = await db.RootCauses.AsNoTracking().ToDictionaryAsync(c => c.Code, c => c.Name, ct);
        if (Id is { } id)
        {
            var alert = await CauseWork.Visible(db.CauseAlerts.AsNoTracking(), User).FirstOrDefaultAsync(a => a.Id == id, ct);
            if (alert is null)
            {
                return false;
            }
            Alert = CauseAlertView.From(alert, names.GetValueOrDefault(alert.Cause));
            Actions = await db.ImprovementActions.AsNoTracking().Where(a => a.CauseAlertId == id || a.Cause == alert.Cause).OrderByDescending(a => a.CreatedAt).Take(20).ToListAsync(ct);
            return true;
        }
        var query = CauseWork.Visible(db.CauseAlerts.AsNoTracking(), User);
        query = Status is { Length: > 0 } s ? query.Where(a => a.Status == s) : query;
        Alerts = (await query.OrderByDescending(a => a.CreatedAt).Take(200).ToListAsync(ct)).Select(a => CauseAlertView.From(a, names.GetValueOrDefault(a.Cause))).ToList();
        return true;
    }
}
