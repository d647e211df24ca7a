using System.Globalization;
using Closeloop.Contacts;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Customers;

public sealed record NoteInput(string? Text, string? Kind);

public sealed record NoteView(long Id, string Kind, string Text, string CreatedBy, DateTimeOffset CreatedAt, string? UpdatedBy, DateTimeOffset? UpdatedAt);

public sealed record PreferencesInput(string? PreferredChannel, string? CallbackWindow, bool? Consent, bool? DoNotContact);

public sealed record PreferencesView(string? PreferredChannel, string? CallbackWindow, bool Consent, bool DoNotContact, IReadOnlyList<NoteView> Notes);

/// <summary>Notes and preferences about a customer: read by everyone who reads the customer, written by the people who work with them.</summary>
public static class CustomerNoteEndpoints
{
    public static IEndpointRouteBuilder MapCustomerNotes(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/customers/{externalId}").WithTags("Customers").RequireAuthorization(Policies.ReadRecords);

        group.MapGet("/notes", async Task<Results<Ok<List<NoteView>>, NotFound>> (string externalId, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var customer = await CustomerEndpoints.VisibleCustomerAsync(db, scope, externalId, ct);
                return customer is null ? TypedResults.NotFound() : TypedResults.Ok(await ListAsync(db, scope, customer.Id, null, ct));
            })
            .WithName("ListCustomerNotes").WithSummary("The notes and preferences written about a customer, newest first, each with who wrote it and when.");

        group.MapPost("/notes", async Task<IResult> (string externalId, NoteInput input, HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var customer = await CustomerEndpoints.VisibleCustomerAsync(db, scope, externalId, ct);
                if (customer is null)
                {
                    return TypedResults.NotFound();
                }
                var (note, errors) = Validate(input);
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                var entity = await AddAsync(db, scope, customer.Id, note.Kind, note.Text, time.GetUtcNow(), ct);
                return TypedResults.Created($"/api/v1/customers/{Uri.EscapeDataString(externalId)}/notes/{entity.Id}", View(entity));
            })
            .RequireAuthorization(Policies.WorkAlerts)
            .Produces<NoteView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithName("AddCustomerNote").NamesEveryBadField().WithSummary("Write a note (kind note) or a preference (kind preference) about a customer.");

        group.MapPut("/notes/{id:long}", async Task<IResult> (string externalId, long id, NoteInput input, HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var customer = await CustomerEndpoints.VisibleCustomerAsync(db, scope, externalId, ct);
                var note = customer is null ? null : await db.CustomerNotes.FirstOrDefaultAsync(n => n.Id == id && n.CustomerId == customer.Id, ct);
                if (note is null || !note.IsVisibleTo(scope))
                {
                    return TypedResults.NotFound();
                }
                if (!note.CanBeEditedBy(scope))
                {
                    return Problems.Status(StatusCodes.Status403Forbidden, "Not allowed", "Only the writer, or a supervisor, site manager or admin of the site it was written at, may change this note (a note written centrally: an unscoped one).");
                }
                var (valid, errors) = Validate(input with { Kind = input.Kind ?? note.Kind });
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                note.Edit(valid.Text!, scope.Actor, time.GetUtcNow());
                note.Kind = valid.Kind!;
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(View(note));
            })
            .RequireAuthorization(Policies.WorkAlerts)
            .Produces<NoteView>()
            .ProducesValidationProblem()
            .WithName("EditCustomerNote").NamesEveryBadField().WithSummary("Correct a note; it keeps who wrote it first and records who changed it and when.");

        group.MapGet("/preferences", async Task<Results<Ok<PreferencesView>, NotFound>> (string externalId, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var customer = await CustomerEndpoints.VisibleCustomerAsync(db, scope, externalId, ct);
                return customer is null ? TypedResults.NotFound() : TypedResults.Ok(await PreferencesAsync(db, scope, customer, ct));
            })
            .WithName("GetCustomerPreferences").WithSummary("The customer's preferred channel, callback window, consent and do-not-contact flag, and the preferences agents wrote down.");

        group.MapPut("/preferences", async Task<IResult> (string externalId, PreferencesInput input, HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var found = await CustomerEndpoints.VisibleCustomerAsync(db, scope, externalId, ct);
                if (found is null)
                {
                    return TypedResults.NotFound();
                }
                var customer = await db.Customers.FirstAsync(c => c.Id == found.Id, ct);
                if (scope.IsSiteScoped && customer.ChangesRefusedToASite(null, null, input.Consent, input.DoNotContact) is { Count: > 0 } refused)
                {
                    return Problems.Forbidden(refused);
                }
                var errors = ApplyPreferences(customer, input);
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                customer.UpdatedAt = time.GetUtcNow();
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(await PreferencesAsync(db, scope, customer, ct));
            })
            .RequireAuthorization(Policies.WorkAlerts)
            .Produces<PreferencesView>()
            .ProducesValidationProblem()
            .WithName("UpdateCustomerPreferences").NamesEveryBadField().WithSummary("Change the preferred channel, the callback window (HH:mm-HH:mm), consent or do-not-contact; fields left out keep their value.");
        return routes;
    }

    public static (NoteInput Valid, Dictionary<string, string[]> Errors) Validate(NoteInput input)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var text = input.Text?.Trim();
        if (string.IsNullOrEmpty(text) || text.Length > CustomerNote.MaxLength)
        {
            errors["text"] = [$"is required (at most {CustomerNote.MaxLength} characters)"];
        }
        var kind = input.Kind?.Trim().ToLowerInvariant() ?? NoteKinds.Note;
        if (!NoteKinds.All.Contains(kind))
        {
            errors["kind"] = [$"must be one of {string.Join(", ", NoteKinds.All)}"];
        }
        return (new NoteInput(text, kind), errors);
    }

    /// <summary>Shared by the API and the console's customer page.</summary>
    public static async Task<CustomerNote> AddAsync(CloseloopDb db, CallerScope scope, long customerId, string? kind, string? text, DateTimeOffset now, CancellationToken ct)
    {
        var note = new CustomerNote { CustomerId = customerId, Kind = kind ?? NoteKinds.Note, Text = text!, SiteId = scope.SiteId, CreatedBy = scope.Actor, CreatedAt = now };
        db.CustomerNotes.Add(note);
        await db.SaveChangesAsync(ct);
        return note;
    }

    public static Dictionary<string, string[]> ApplyPreferences(Customer customer, PreferencesInput input)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (input.PreferredChannel is { } channel)
        {
            if (channel.Length == 0)
            {
                customer.PreferredChannel = null;
            }
            else if (Channels.Normalize(channel) is { } normalized)
            {
                customer.PreferredChannel = normalized;
            }
            else
            {
                errors["preferredChannel"] = [$"must be one of {string.Join(", ", Channels.All)}"];
            }
        }
        if (input.CallbackWindow is { } window)
        {
            if (window.Trim().Length == 0)
            {
                customer.CallbackWindow = null;
            }
            else if (ParseWindow(window) is { } parsed)
            {
                customer.CallbackWindow = parsed;
            }
            else
            {
                errors["callbackWindow"] = ["must be HH:mm-HH:mm, for example 18:00-20:30"];
            }
        }
        customer.Consent = input.Consent ?? customer.Consent;
        customer.DoNotContact = input.DoNotContact ?? customer.DoNotContact;
        return errors;
    }

    private static string? ParseWindow(string window)
    {
        var parts = window.Trim().Split('-', StringSplitOptions.TrimEntries);
        return parts.Length == 2
            && TimeOnly.TryParseExact(parts[0], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
            && TimeOnly.TryParseExact(parts[1], "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to)
            ? string.Create(CultureInfo.InvariantCulture, $"{from:HH\\:mm}-{to:HH\\:mm}")
            : null;
    }

    /// <summary>A customer's notes the caller may read: the rule of <see cref="CustomerNote.IsVisibleTo"/>, as a query.</summary>
    public static IQueryable<CustomerNote> Visible(CloseloopDb db, CallerScope scope, long customerId)
    {
        var query = db.CustomerNotes.AsNoTracking().Where(n => n.CustomerId == customerId);
        if (scope.SiteId is { } site)
        {
            // Notes written centrally, or at the caller's site.
            query = query.Where(n => n.SiteId == null || n.SiteId == site);
        }
        return query;
    }

    public static async Task<List<NoteView>> ListAsync(CloseloopDb db, CallerScope scope, long customerId, string? kind, CancellationToken ct)
    {
        var query = Visible(db, scope, customerId);
        if (kind is not null)
        {
            query = query.Where(n => n.Kind == kind);
        }
        return (await query.OrderByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id).Take(500).ToListAsync(ct)).Select(View).ToList();
    }

    public static async Task<PreferencesView> PreferencesAsync(CloseloopDb db, CallerScope scope, Customer customer, CancellationToken ct) =>
        new(customer.PreferredChannel, customer.CallbackWindow, customer.Consent, customer.DoNotContact, await ListAsync(db, scope, customer.Id, NoteKinds.Preference, ct));

    public static NoteView View(CustomerNote n) => new(n.Id, n.Kind, n.Text, n.CreatedBy, n.CreatedAt, n.UpdatedBy, n.UpdatedAt);
}
