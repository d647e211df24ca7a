using Closeloop.Alerts;
using Closeloop.Customers;
using Closeloop.Data;
using Closeloop.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Customers;

public sealed class DetailModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public CustomerProfile Profile { get; private set; } = null!;

    public PreferencesView Preferences { get; private set; } = null!;

    public List<NoteView> Notes { get; private set; } = [];

    public TimelinePage? Timeline { get; private set; }

    public List<AlertView> Alerts { get; private set; } = [];

    public bool CanWrite => AlertInbox.CanWork(User);

    public string? Error { get; private set; }

    public CallerScope Scope => CallerScope.From(User);

    public async Task<IActionResult> OnGetAsync(string externalId, CancellationToken ct) => await LoadAsync(externalId, ct) is null ? NotFound() : Page();

    public async Task<IActionResult> OnPostNoteAsync(string externalId, string? text, string? kind, CancellationToken ct)
    {
        var customer = await WritableAsync(externalId, ct);
        if (customer is null)
        {
            return NotFound();
        }
        var (valid, errors) = CustomerNoteEndpoints.Validate(new NoteInput(text, kind));
        if (errors.Count > 0)
        {
            return await FailAsync(externalId, errors, ct);
        }
        await CustomerNoteEndpoints.AddAsync(db, Scope, customer.Id, valid.Kind, valid.Text, time.GetUtcNow(), ct);
        return Redirect(Self(externalId));
    }

    public async Task<IActionResult> OnPostEditNoteAsync(string externalId, long noteId, string? text, CancellationToken ct)
    {
        var customer = await WritableAsync(externalId, ct);
        var note = customer is null ? null : await db.CustomerNotes.FirstOrDefaultAsync(n => n.Id == noteId && n.CustomerId == customer.Id, ct);
        if (note is null || !note.IsVisibleTo(Scope) || !note.CanBeEditedBy(Scope))
        {
            return NotFound();
        }
        var (valid, errors) = CustomerNoteEndpoints.Validate(new NoteInput(text, note.Kind));
        if (errors.Count > 0)
        {
            return await FailAsync(externalId, errors, ct);
        }
        note.Edit(valid.Text!, Scope.Actor, time.GetUtcNow());
        await db.SaveChangesAsync(ct);
        return Redirect(Self(externalId));
    }

    public async Task<IActionResult> OnPostPreferencesAsync(string externalId, string? preferredChannel, string? callbackWindow, bool consent, bool doNotContact, CancellationToken ct)
    {
        var found = await WritableAsync(externalId, ct);
        if (found is null)
        {
            return NotFound();
        }
        var customer = await db.Customers.FirstAsync(c => c.Id == found.Id, ct);
        var errors = Scope.IsSiteScoped ? customer.ChangesRefusedToASite(null, null, consent, doNotContact) : [];
        if (errors.Count == 0)
        {
            errors = CustomerNoteEndpoints.ApplyPreferences(customer, new PreferencesInput(preferredChannel ?? "", callbackWindow ?? "", consent, doNotContact));
        }
        if (errors.Count > 0)
        {
            db.ChangeTracker.Clear();
            return await FailAsync(externalId, errors, ct);
        }
        customer.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return Redirect(Self(externalId));
    }

    private static string Self(string externalId) => $"/customers/{Uri.EscapeDataString(Web.RouteIds.Decode(externalId))}";

    private async Task<Customer?> WritableAsync(string externalId, CancellationToken ct) =>
        User.ReadsRecords() && CanWrite ? await CustomerEndpoints.VisibleCustomerAsync(db, Scope, externalId, ct) : null;

    private async Task<IActionResult> FailAsync(string externalId, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        if (await LoadAsync(externalId, ct) is null)
        {
            return NotFound();
        }
        Error = string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
        HttpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }

    private async Task<Customer?> LoadAsync(string externalId, CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return null;
        }
        var scope = Scope;
        var customer = await CustomerEndpoints.VisibleCustomerAsync(db, scope, externalId, ct);
        if (customer is null)
        {
            return null;
        }
        Profile = (await CustomerEndpoints.ProfileAsync(db, scope, externalId, ct))!;
        Preferences = await CustomerNoteEndpoints.PreferencesAsync(db, scope, customer, ct);
        Notes = await CustomerNoteEndpoints.ListAsync(db, scope, customer.Id, NoteKinds.Note, ct);
        Timeline = await CustomerEndpoints.TimelineAsync(db, scope, customer.Id, customer.ExternalId, null, 100, ct);
        Alerts = await AlertViews.ProjectAsync(db, AlertViews.Visible(db, scope).Where(a => a.CustomerId == customer.Id).OrderByDescending(a => a.Id).Take(50), false, ct);
        return customer;
    }
}
