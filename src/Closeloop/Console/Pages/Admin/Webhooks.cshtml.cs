using Closeloop.Data;
using Closeloop.Notifications;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Admin;

public sealed record WebhookRow(long Id, string Url, string Events, string? Site, bool Enabled, DateTimeOffset CreatedAt)
{
    public int Delivered { get; init; }
    public int Waiting { get; init; }
    public DateTimeOffset? LastDelivered { get; init; }
    public string? LastError { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>Set while this process takes the receiver as down: its messages wait untried until this next try.</summary>
    public DateTimeOffset? DownUntil { get; init; }
}

/// <summary>
/// Outbound webhooks, with how their deliveries are going (from the outbox, which retries until delivered), and the
/// e-mail backlog beside them: what waits for the SMTP server and why. Subscribing and removing go through
/// <see cref="WebhookSubscriptions"/>, as the API's do.
/// </summary>
public sealed class WebhooksModel(CloseloopDb db, Destinations destinations, TimeProvider time, IConfiguration configuration) : PageModel
{
    /// <summary>Delivery counts cover a recent window: the outbox keeps every delivery, and counting all of them would grow without end.</summary>
    public static readonly TimeSpan StatusWindow = TimeSpan.FromDays(7);

    public List<WebhookRow> Hooks { get; private set; } = [];

    public List<string> Sites { get; private set; } = [];

    public WebhookCreated? Created { get; private set; }

    /// <summary>The e-mail backlog as <c>GET /api/v1/outbox</c> reports it; null when no e-mail waits and this process never found the server down.</summary>
    public OutboxDestinationView? Email { get; private set; }

    /// <summary>Where e-mail goes: host and port only, never the sign-in.</summary>
    public string SmtpServer => SmtpOptions.Read(configuration).Server;

    public Dictionary<string, string[]> Errors { get; private set; } = new(StringComparer.Ordinal);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostCreateAsync(string? url, string? events, string? site, string? secret, CancellationToken ct)
    {
        var list = (events ?? "").Split([',', ' ', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
        var input = new WebhookInput(url?.Trim(), list, string.IsNullOrEmpty(secret) ? null : secret, string.IsNullOrWhiteSpace(site) ? null : site);
        var (created, errors) = await WebhookSubscriptions.CreateAsync(db, input, WebhookNetwork.AllowsLinkLocal(configuration), time.GetUtcNow(), ct);
        if (created is null)
        {
            Errors = errors;
            HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        else
        {
            // The signing secret is shown in this answer only (the list never shows it), so no cache may keep the page.
            Created = created;
            Response.Headers.CacheControl = "no-store";
        }
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(long id, CancellationToken ct) =>
        await WebhookSubscriptions.DeleteAsync(db, id, ct) ? Redirect("/admin/webhooks") : NotFound();

    public IEnumerable<string> ErrorsFor(string field) => Errors.Where(e => e.Key == field).SelectMany(e => e.Value);

    private async Task LoadAsync(CancellationToken ct)
    {
        var since = time.GetUtcNow() - StatusWindow;
        var hooks = await db.WebhookSubscriptions.AsNoTracking().OrderBy(w => w.Id)
            .Select(w => new WebhookRow(w.Id, w.Url, w.Events, db.Sites.Where(s => s.Id == w.SiteId).Select(s => s.Code).FirstOrDefault(), w.Enabled, w.CreatedAt))
            .ToListAsync(ct);
        var status = await OutboxEndpoints.StatusAsync(db, destinations, time.GetUtcNow(), ct);
        Email = status.FirstOrDefault(d => d.Destination == "email");
        Hooks = [];
        foreach (var hook in hooks)
        {
            var recipient = WebhookSubscriptions.Recipient(hook.Id);
            var recent = db.Outbox.AsNoTracking().Where(m => m.Kind == OutboxKinds.Webhook && m.Recipient == recipient && m.CreatedAt >= since);
            var failing = await db.Outbox.AsNoTracking().Where(m => m.Kind == OutboxKinds.Webhook && m.Recipient == recipient && m.SentAt == null && m.LastError != null)
                .OrderByDescending(m => m.Id).Select(m => new { m.LastError, m.Attempts, m.NextAttemptAt }).FirstOrDefaultAsync(ct);
            Hooks.Add(hook with
            {
                Delivered = await recent.CountAsync(m => m.SentAt != null, ct),
                Waiting = await recent.CountAsync(m => m.SentAt == null, ct),
                LastDelivered = await db.Outbox.AsNoTracking().Where(m => m.Kind == OutboxKinds.Webhook && m.Recipient == recipient && m.SentAt != null)
                    .OrderByDescending(m => m.Id).Select(m => m.SentAt).FirstOrDefaultAsync(ct),
                LastError = failing?.LastError,
                Attempts = failing?.Attempts ?? 0,
                NextAttempt = failing?.NextAttemptAt,
                DownUntil = status.FirstOrDefault(d => d.Subscription == hook.Id && d.Down)?.NextTry,
            });
        }
        Sites = await db.Sites.AsNoTracking().OrderBy(s => s.Code).Select(s => s.Code).ToListAsync(ct);
    }
}
