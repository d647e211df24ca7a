using Closeloop.Data;
using Closeloop.Insights;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Insights;

/// <summary>Improvement actions: their status, and shipping one, which tells the customers who raised the cause.</summary>
public sealed class ActionsModel(CloseloopDb db, TimeProvider time, ImprovementShipping shipping) : PageModel
{
    public IReadOnlyList<ImprovementAction> Actions { get; private set; } = [];
    public Dictionary<string, string> Causes { get; private set; } = [];
    public string? Message { get; private set; }
    public bool Failed { get; private set; }
    public DateTimeOffset Now => time.GetUtcNow();
    public bool MayWork => CauseWork.MayWork(User);

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (!CauseWork.MayRead(User))
        {
            return NotFound();
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(long id, string? status, string? message, CancellationToken ct)
    {
        if (!MayWork || status is null || !ImprovementStatus.All.Contains(status))
        {
            return NotFound();
        }
        var (action, shipped, conflict) = await CauseWork.ChangeStatusAsync(db, shipping, User, id, status, string.IsNullOrWhiteSpace(message) ? null : message.Trim(), time.GetUtcNow(), ct);
        if (action is null)
        {
            return NotFound();
        }
        Failed = conflict is not null;
        Message = conflict ?? (shipped is { } r
            ? $"Shipped. {r.Told} customers told; {r.Skipped} not told ({string.Join(", ", r.SkippedBecause.Select(s => $"{s.Key}: {s.Value}"))})."
            : $"#{action.Id} is now {action.Status.Replace('_', ' ')}.");
        if (Failed)
        {
            Response.StatusCode = StatusCodes.Status409Conflict;
        }
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        Causes = await db.RootCauses.AsNoTracking().ToDictionaryAsync(c => c.Code, c => c.Name, ct);
        Actions = await CauseWork.Visible(db.ImprovementActions.AsNoTracking(), User).OrderBy(a => a.Status == ImprovementStatus.Shipped || a.Status == ImprovementStatus.Cancelled)
            .ThenByDescending(a => a.CreatedAt).Take(500).ToListAsync(ct);
    }

    public static IEnumerable<string> Next(string status) => status switch
    {
        ImprovementStatus.Planned => [ImprovementStatus.InProgress, ImprovementStatus.Shipped, ImprovementStatus.Cancelled],
        ImprovementStatus.InProgress => [ImprovementStatus.Shipped, ImprovementStatus.Cancelled],
        _ => [],
    };
}
