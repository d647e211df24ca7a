using System.Globalization;
using System.Text;
using Closeloop.Contacts;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Customers;

public sealed record ContactPoint(string Channel, string Value);

public sealed record CustomerProfile(
    string ExternalId, string? Name, IReadOnlyList<ContactPoint> ContactPoints, string? PreferredChannel, string? Tier,
    bool Consent, bool DoNotContact, int Contacts, int Responses, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record TimelineItem(string Kind, DateTimeOffset At, ContactView? Contact, ResponseView? Response);

public sealed record TimelinePage(string CustomerExternalId, IReadOnlyList<TimelineItem> Items, string? NextCursor);

public sealed record CustomerUpdate(string? Name, string? PreferredChannel, string? Tier, bool? Consent, bool? DoNotContact);

public static class CustomerEndpoints
{
    public static IEndpointRouteBuilder MapCustomers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/customers").WithTags("Customers").RequireAuthorization(Policies.ReadRecords);

        group.MapGet("/{externalId}", async Task<Results<Ok<CustomerProfile>, NotFound>> (string externalId, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await ProfileAsync(db, CallerScope.From(http.User), externalId, ct) is { } profile ? TypedResults.Ok(profile) : TypedResults.NotFound())
            .WithName("GetCustomer")
            .WithSummary("A customer's profile with their contact points.");

        group.MapGet("/{externalId}/timeline", async Task<IResult> (string externalId, string? cursor, int? limit, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var customer = await VisibleCustomerAsync(db, scope, externalId, ct);
                if (customer is null)
                {
                    return TypedResults.NotFound();
                }
                var size = Math.Clamp(limit ?? 50, 1, 200);
                TimelineCursor? after = null;
                if (cursor is not null && !TimelineCursor.TryParse(cursor, out after))
                {
                    return Problems.Validation("cursor", "is not a cursor this API returned");
                }
                return TypedResults.Ok(await TimelineAsync(db, scope, customer.Id, externalId, after, size, ct));
            })
            .Produces<TimelinePage>()
            .WithName("GetCustomerTimeline")
            .WithSummary("Every contact and response of a customer across channels, newest first, paged with a cursor.");

        group.MapGet("/", async (string? q, int? limit, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var query = db.Customers.AsNoTracking();
                if (scope.SiteId is { } site)
                {
                    query = query.Where(c => db.Contacts.Any(x => x.CustomerId == c.Id && x.SiteId == site) || db.Responses.Any(x => x.CustomerId == c.Id && x.SiteId == site));
                }
                if (!string.IsNullOrWhiteSpace(q))
                {
                    var term = q.Trim().ToLowerInvariant();
                    query = query.Where(c => c.ExternalId.ToLower().Contains(term) || (c.Name != null && c.Name.ToLower().Contains(term))
                        || (c.Email != null && c.Email.Contains(term)) || (c.Phone != null && c.Phone.Contains(term)) || (c.Handle != null && c.Handle.ToLower().Contains(term)));
                }
                var rows = await query.OrderByDescending(c => c.UpdatedAt).Take(Math.Clamp(limit ?? 50, 1, 500))
                    .Select(c => new { c.ExternalId, c.Name, c.Email, c.Phone, c.Handle, c.Tier, c.UpdatedAt }).ToListAsync(ct);
                return TypedResults.Ok(rows);
            })
            .WithName("ListCustomers")
            .WithSummary("Customers the caller may see, most recently active first; q searches id, name, e-mail, phone and handle.");

        group.MapMethods("/{externalId}", ["PATCH"], async Task<IResult> (string externalId, CustomerUpdate update, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var found = await VisibleCustomerAsync(db, scope, externalId, ct);
                if (found is null)
                {
                    return TypedResults.NotFound();
                }
                string? preferred = null;
                if (update.PreferredChannel is not null && (preferred = Channels.Normalize(update.PreferredChannel)) is null)
                {
                    return Problems.Validation("preferredChannel", $"must be one of {string.Join(", ", Channels.All)}");
                }
                var customer = await db.Customers.FirstAsync(c => c.Id == found.Id, ct);
                customer.Name = update.Name?.Trim() ?? customer.Name;
                customer.PreferredChannel = preferred ?? customer.PreferredChannel;
                customer.Tier = update.Tier?.Trim().ToLowerInvariant() ?? customer.Tier;
                customer.Consent = update.Consent ?? customer.Consent;
                customer.DoNotContact = update.DoNotContact ?? customer.DoNotContact;
                customer.UpdatedAt = DateTimeOffset.UtcNow;
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(await ProfileAsync(db, scope, externalId, ct));
            })
            .RequireAuthorization(Policies.Write)
            .WithName("UpdateCustomer")
            .WithSummary("Change a customer's name, preferred channel, tier, consent or do-not-contact flag.");

        return routes;
    }

    /// <summary>A site-scoped caller sees a customer only through a record of its own site.</summary>
    internal static async Task<Customer?> VisibleCustomerAsync(CloseloopDb db, CallerScope scope, string externalId, CancellationToken ct)
    {
        var customer = await db.Customers.AsNoTracking().FirstOrDefaultAsync(c => c.ExternalId == externalId, ct);
        if (customer is null || scope.SiteId is not { } site)
        {
            return customer;
        }
        var visible = await db.Contacts.AnyAsync(c => c.CustomerId == customer.Id && c.SiteId == site, ct)
            || await db.Responses.AnyAsync(r => r.CustomerId == customer.Id && r.SiteId == site, ct);
        return visible ? customer : null;
    }

    public static async Task<CustomerProfile?> ProfileAsync(CloseloopDb db, CallerScope scope, string externalId, CancellationToken ct)
    {
        var c = await VisibleCustomerAsync(db, scope, externalId, ct);
        if (c is null)
        {
            return null;
        }
        var points = new List<ContactPoint>();
        if (c.Email is not null)
        {
            points.Add(new ContactPoint("email", c.Email));
        }
        if (c.Phone is not null)
        {
            points.Add(new ContactPoint("phone", c.Phone));
        }
        if (c.Handle is not null)
        {
            points.Add(new ContactPoint("social", c.Handle));
        }
        var contacts = await db.Contacts.CountAsync(x => x.CustomerId == c.Id && (scope.SiteId == null || x.SiteId == scope.SiteId), ct);
        var responses = await db.Responses.CountAsync(x => x.CustomerId == c.Id && (scope.SiteId == null || x.SiteId == scope.SiteId), ct);
        return new CustomerProfile(c.ExternalId, c.Name, points, c.PreferredChannel ?? points.FirstOrDefault()?.Channel, c.Tier, c.Consent, c.DoNotContact,
            contacts, responses, c.CreatedAt, c.UpdatedAt);
    }

    public static async Task<TimelinePage> TimelineAsync(CloseloopDb db, CallerScope scope, long customerId, string externalId, TimelineCursor? after, int size, CancellationToken ct)
    {
        // Each source is read in the same order up to one page past the cursor, then the sources are merged.
        var contactQuery = db.Contacts.AsNoTracking().Where(c => c.CustomerId == customerId);
        var responseQuery = db.Responses.AsNoTracking().Where(r => r.CustomerId == customerId);
        if (scope.SiteId is { } site)
        {
            contactQuery = contactQuery.Where(c => c.SiteId == site);
            responseQuery = responseQuery.Where(r => r.SiteId == site);
        }
        if (after is not null)
        {
            var at = after.At;
            contactQuery = TimelineCursor.ContactRank < after.Rank ? contactQuery.Where(c => c.OccurredAt <= at)
                : TimelineCursor.ContactRank == after.Rank ? contactQuery.Where(c => c.OccurredAt < at || (c.OccurredAt == at && c.Id < after.Id))
                : contactQuery.Where(c => c.OccurredAt < at);
            responseQuery = TimelineCursor.ResponseRank < after.Rank ? responseQuery.Where(r => r.RespondedAt <= at)
                : TimelineCursor.ResponseRank == after.Rank ? responseQuery.Where(r => r.RespondedAt < at || (r.RespondedAt == at && r.Id < after.Id))
                : responseQuery.Where(r => r.RespondedAt < at);
        }
        var contactIds = await contactQuery.OrderByDescending(c => c.OccurredAt).ThenByDescending(c => c.Id).Take(size + 1)
            .Select(c => new { c.Id, At = c.OccurredAt }).ToListAsync(ct);
        var responseIds = await responseQuery.OrderByDescending(r => r.RespondedAt).ThenByDescending(r => r.Id).Take(size + 1)
            .Select(r => new { r.Id, At = r.RespondedAt }).ToListAsync(ct);
        var merged = contactIds.Select(c => (c.At, Rank: TimelineCursor.ContactRank, c.Id))
            .Concat(responseIds.Select(r => (r.At, Rank: TimelineCursor.ResponseRank, r.Id)))
            .OrderByDescending(x => x.At).ThenByDescending(x => x.Rank).ThenByDescending(x => x.Id)
            .ToList();
        var page = merged.Take(size).ToList();
        var items = new List<TimelineItem>(page.Count);
        foreach (var entry in page)
        {
            if (entry.Rank == TimelineCursor.ContactRank)
            {
                var view = await RecordViews.ContactAsync(db, scope, null, entry.Id, ct);
                items.Add(new TimelineItem("contact", entry.At, view, null));
            }
            else
            {
                var view = await RecordViews.ResponseAsync(db, scope, null, entry.Id, ct);
                items.Add(new TimelineItem("response", entry.At, null, view));
            }
        }
        var next = merged.Count > size ? new TimelineCursor(page[^1].At, page[^1].Rank, page[^1].Id).ToString() : null;
        return new TimelinePage(externalId, items, next);
    }
}

/// <summary>An opaque position in a timeline: the instant, the kind of record and its id, newest first.</summary>
public sealed record TimelineCursor(DateTimeOffset At, int Rank, long Id)
{
    public const int ContactRank = 1;
    public const int ResponseRank = 2;

    public override string ToString() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{At.ToUnixTimeMilliseconds()}:{Rank}:{Id}")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryParse(string text, out TimelineCursor? cursor)
    {
        cursor = null;
        try
        {
            var base64 = text.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(base64)).Split(':');
            if (parts.Length == 3 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var ms) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var rank)
                && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var id))
            {
                cursor = new TimelineCursor(DateTimeOffset.FromUnixTimeMilliseconds(ms), rank, id);
                return true;
            }
        }
        catch (FormatException)
        {
        }
        return false;
    }
}
