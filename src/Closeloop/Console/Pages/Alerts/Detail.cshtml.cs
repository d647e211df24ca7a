using System.Globalization;
using System.Text.Json.Nodes;
using Closeloop.Alerts;
using Closeloop.Customers;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Alerts;

public sealed class DetailModel(CloseloopDb db, AlertActions actions) : PageModel
{
    public AlertView Alert { get; private set; } = null!;

    public ResponseView? TriggerResponse { get; private set; }

    public ContactView? Contact { get; private set; }

    public CustomerProfile? Customer { get; private set; }

    public PreferencesView? Preferences { get; private set; }

    public List<NoteView> Notes { get; private set; } = [];

    public TimelinePage? Timeline { get; private set; }

    public List<(string Code, string Name)> RootCauses { get; private set; } = [];

    public IReadOnlyList<string> Steps { get; private set; } = [];

    public string? Error { get; private set; }

    public string? ErrorField { get; private set; }

    public async Task<IActionResult> OnGetAsync(long id, CancellationToken ct) => await LoadAsync(id, ct) ? Page() : NotFound();

    /// <summary>Every recovery step is one form posting here; the alert's state machine decides what is allowed.</summary>
    public async Task<IActionResult> OnPostActionAsync(long id, CancellationToken ct)
    {
        var scope = CallerScope.From(User);
        if (!User.ReadsRecords() || !await AlertViews.Visible(db, scope).AnyAsync(a => a.Id == id, ct))
        {
            return NotFound();
        }
        if (!AlertInbox.CanWork(User))
        {
            return NotFound();
        }
        var body = new JsonObject();
        foreach (var field in new[] { "type", "note", "text", "channel", "at", "kind", "currency", "rootCause", "outcome", "owner" })
        {
            if (Request.Form[field].ToString().Trim() is { Length: > 0 } value)
            {
                body[field] = value;
            }
        }
        if (body["at"] is JsonValue at && DateTime.TryParse(at.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            && Request.Form["offset"].ToString() is { Length: > 0 } offsetText && int.TryParse(offsetText, CultureInfo.InvariantCulture, out var offsetMinutes))
        {
            // <input type="datetime-local"> gives the browser's local time; the page sends the browser's UTC offset beside it.
            body["at"] = new DateTimeOffset(local.AddMinutes(offsetMinutes), TimeSpan.Zero).ToString("O", CultureInfo.InvariantCulture);
        }
        if (Request.Form["value"].ToString().Trim() is { Length: > 0 } valueText)
        {
            if (!double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return await FailAsync(id, "value", "must be a number", ct);
            }
            body["value"] = value;
        }
        using var document = System.Text.Json.JsonDocument.Parse(body.ToJsonString());
        var alert = await db.Alerts.FirstAsync(a => a.Id == id, ct);
        try
        {
            await actions.ApplyAsync(db, alert, document.RootElement, scope, ct);
        }
        catch (AlertActionException ex)
        {
            // One bad field is shown beside its input; several are all named in the message.
            return await FailAsync(id, ex.Errors.Count == 1 ? ex.Errors.Keys.First() : null, ex.Message, ct, ex.Status);
        }
        catch (AlertTransitionException ex)
        {
            return await FailAsync(id, null, ex.Message, ct, StatusCodes.Status409Conflict);
        }
        return Redirect($"/alerts/{id}");
    }

    private async Task<IActionResult> FailAsync(long id, string? field, string message, CancellationToken ct, int status = StatusCodes.Status400BadRequest)
    {
        db.ChangeTracker.Clear();
        if (!await LoadAsync(id, ct))
        {
            return NotFound();
        }
        ErrorField = field;
        Error = field is null ? message : $"{field}: {message}";
        HttpContext.Response.StatusCode = status;
        return Page();
    }

    private async Task<bool> LoadAsync(long id, CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return false;
        }
        var scope = CallerScope.From(User);
        var alert = (await AlertViews.ProjectAsync(db, AlertViews.Visible(db, scope).Where(a => a.Id == id), true, ct)).FirstOrDefault();
        if (alert is null)
        {
            return false;
        }
        Alert = alert;
        if (alert.Trigger.ExternalId is { } trigger)
        {
            if (alert.Trigger.Kind == "response")
            {
                TriggerResponse = await RecordViews.ResponseAsync(db, scope, trigger, null, ct);
            }
            else
            {
                Contact = await RecordViews.ContactAsync(db, scope, trigger, null, ct);
            }
        }
        if (alert.Customer is { } customer && await CustomerEndpoints.VisibleCustomerAsync(db, scope, customer, ct) is { } entity)
        {
            Customer = await CustomerEndpoints.ProfileAsync(db, scope, customer, ct);
            Preferences = await CustomerNoteEndpoints.PreferencesAsync(db, scope, entity, ct);
            Notes = await CustomerNoteEndpoints.ListAsync(db, scope, entity.Id, NoteKinds.Note, ct);
            Timeline = await CustomerEndpoints.TimelineAsync(db, scope, entity.Id, customer, null, 20, ct);
        }
        RootCauses = (await db.RootCauses.AsNoTracking().OrderBy(r => r.Code).Select(r => new { r.Code, r.Name }).ToListAsync(ct)).Select(r => (r.Code, r.Name)).ToList();
        Steps = AlertInbox.CanWork(User) ? AlertInbox.AllowedSteps(alert.Status) : [];
        if (!(alert.Actions ?? []).Any(x => x.Type == ActionTypes.GestureOffered))
        {
            // Approval only makes sense once a gesture was offered.
            Steps = Steps.Where(s => s != ActionTypes.GestureApproved).ToList();
        }
        return true;
    }
}
