using System.Globalization;
using System.Linq.Expressions;
using System.Text;
using System.Text.Json.Serialization;
using Closeloop.Alerts;
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

/// <summary>
/// One entry of a timeline: <c>contact</c> and <c>response</c> always, <c>alert</c> and <c>note</c> when asked for
/// with <c>include</c>. The alert and note members are left out of the JSON when empty, so the default page reads
/// as it always did.
/// </summary>
public sealed record TimelineItem(
    string Kind, DateTimeOffset At, ContactView? Contact, ResponseView? Response,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AlertView? Alert = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] NoteView? Note = null);

public sealed class TimelineEntry
{
    public DateTimeOffset At { get; init; }
    public long Id { get; init; }
}

public sealed record TimelinePage(string CustomerExternalId, IReadOnlyList<TimelineItem> Items, string? NextCursor);

public sealed record CustomerUpdate(string? Name, string? PreferredChannel, string? Tier, bool? Consent, bool? DoNotContact);

public static class CustomerEndpoints
{
    private const int MaxNameLength = 200;
    private const int MaxTierLength = 64;

    public static IEndpointRouteBuilder MapCustomers(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/customers").WithTags("Customers").RequireAuthorization(Policies.ReadRecords);

        group.MapGet("/{externalId}", async Task<Results<Ok<CustomerProfile>, NotFound>> (string externalId, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await ProfileAsync(db, CallerScope.From(http.User), externalId, ct) is { } profile ? TypedResults.Ok(profile) : TypedResults.NotFound())
            .WithName("GetCustomer")
            .WithSummary("A customer's profile with their contact points.");

        group.MapGet("/{externalId}/timeline", async Task<IResult> (string externalId, string? cursor, int? limit, string? include, HttpContext http, CloseloopDb db, CancellationToken ct) =>
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
                var extra = (include ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x => x.ToLowerInvariant()).ToHashSet();
                if (extra.Except(TimelineExtras.All).FirstOrDefault() is { } unknown)
                {
                    return Problems.Validation("include", $"'{unknown}' is not a kind of entry; use {string.Join(" and ", TimelineExtras.All)}, separated by commas");
                }
                return TypedResults.Ok(await TimelineAsync(db, scope, customer.Id, customer.ExternalId, after, size, ct, extra));
            })
            .Produces<TimelinePage>()
            .WithName("GetCustomerTimeline")
            .WithSummary("Every contact and response of a customer across channels, newest first, paged with a cursor; include=alerts,notes adds the customer's alerts (with their recovery steps and gestures) and the notes agents wrote.");

        group.MapGet("/", async (string? q, int? limit, HttpContext http, CloseloopDb db, CancellationToken ct) =>
            {
                var query = Visible(db, CallerScope.From(http.User));
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

        group.MapMethods("/{externalId}", ["PATCH"], async Task<IResult> (string externalId, CustomerUpdate update, HttpContext http, CloseloopDb db, TimeProvider time, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var found = await VisibleCustomerAsync(db, scope, externalId, ct);
                if (found is null)
                {
                    return TypedResults.NotFound();
                }
                var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
                string? preferred = null;
                if (update.PreferredChannel is not null && (preferred = Channels.Normalize(update.PreferredChannel)) is null)
                {
                    errors["preferredChannel"] = [$"must be one of {string.Join(", ", Channels.All)}"];
                }
                if (update.Name is { } name && (name.Trim().Length == 0 || name.Trim().Length > MaxNameLength))
                {
                    errors["name"] = [$"must be 1 to {MaxNameLength} characters"];
                }
                // A blank tier clears it; a tier is a short code rules compare against (vip, gold).
                if (update.Tier is { } tier && tier.Trim().Length > MaxTierLength)
                {
                    errors["tier"] = [$"must be at most {MaxTierLength} characters"];
                }
                if (errors.Count > 0)
                {
                    return Problems.Validation(errors);
                }
                var customer = await db.Customers.FirstAsync(c => c.Id == found.Id, ct);
                if (scope.IsSiteScoped && customer.ChangesRefusedToASite(update.Name, update.Tier, update.Consent, update.DoNotContact) is { Count: > 0 } refused)
                {
                    return Problems.Forbidden(refused);
                }
                customer.Name = update.Name?.Trim() ?? customer.Name;
                customer.PreferredChannel = preferred ?? customer.PreferredChannel;
                customer.Tier = update.Tier is { } newTier ? (newTier.Trim().Length == 0 ? null : newTier.Trim().ToLowerInvariant()) : customer.Tier;
                customer.Consent = update.Consent ?? customer.Consent;
                customer.DoNotContact = update.DoNotContact ?? customer.DoNotContact;
                customer.UpdatedAt = time.GetUtcNow();
                await db.SaveChangesAsync(ct);
                return TypedResults.Ok(await ProfileAsync(db, scope, externalId, ct));
            })
            .RequireAuthorization(Policies.Write)
            .WithName("UpdateCustomer").NamesEveryBadField()
            .WithSummary("Change a customer's name, preferred channel, tier, consent or do-not-contact flag.");

        return routes;
    }

    /// <summary>
    /// The customers a caller may see: a site-scoped caller sees a customer only through a record of its own site, a
    /// recovery specialist only through an alert of theirs. The API's and the console's lists and every single
    /// customer read go through it.
    /// </summary>
    public static IQueryable<Customer> Visible(CloseloopDb db, CallerScope scope)
    {
        var query = db.Customers.AsNoTracking();
        if (scope.SiteId is { } site)
        {
            query = query.Where(c => db.Contacts.Any(x => x.CustomerId == c.Id && x.SiteId == site) || db.Responses.Any(x => x.CustomerId == c.Id && x.SiteId == site));
        }
        if (scope.RecoveryOwner is { } owner)
        {
            var theirs = AlertViews.CustomersOf(db, owner);
            query = query.Where(c => theirs.Contains(c.Id));
        }
        return query;
    }

    internal static Task<Customer?> VisibleCustomerAsync(CloseloopDb db, CallerScope scope, string externalId, CancellationToken ct)
    {
        externalId = RouteIds.Decode(externalId);
        return Visible(db, scope).FirstOrDefaultAsync(c => c.ExternalId == externalId, ct);
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

    public static async Task<TimelinePage> TimelineAsync(
        CloseloopDb db, CallerScope scope, long customerId, string externalId, TimelineCursor? after, int size, CancellationToken ct, IReadOnlySet<string>? include = null)
    {
        // Each source is read in the same order up to one page past the cursor, then the sources are merged.
        var contactQuery = db.Contacts.AsNoTracking().Where(c => c.CustomerId == customerId);
        var responseQuery = db.Responses.AsNoTracking().Where(r => r.CustomerId == customerId);
        if (scope.SiteId is { } site)
        {
            contactQuery = contactQuery.Where(c => c.SiteId == site);
            responseQuery = responseQuery.Where(r => r.SiteId == site);
        }
        var entries = new List<(DateTimeOffset At, int Rank, long Id)>();
        async Task ReadAsync<T>(IQueryable<T> query, int rank, Expression<Func<T, DateTimeOffset>> at, Expression<Func<T, long>> id)
        {
            var rows = await TimelineCursor.After(query, after, rank, at, id)
                .OrderByDescending(at).ThenByDescending(id).Take(size + 1)
                .Select(TimelineCursor.Entry(at, id)).ToListAsync(ct);
            entries.AddRange(rows.Select(r => (r.At, rank, r.Id)));
        }
        await ReadAsync(contactQuery, TimelineCursor.ContactRank, c => c.OccurredAt, c => c.Id);
        await ReadAsync(responseQuery, TimelineCursor.ResponseRank, r => r.RespondedAt, r => r.Id);
        if (include?.Contains(TimelineExtras.Alerts) == true)
        {
            await ReadAsync(AlertViews.Visible(db, scope).Where(a => a.CustomerId == customerId), TimelineCursor.AlertRank, a => a.CreatedAt, a => a.Id);
        }
        if (include?.Contains(TimelineExtras.Notes) == true)
        {
            await ReadAsync(CustomerNoteEndpoints.Visible(db, scope, customerId), TimelineCursor.NoteRank, n => n.CreatedAt, n => n.Id);
        }
        var merged = entries.OrderByDescending(x => x.At).ThenByDescending(x => x.Rank).ThenByDescending(x => x.Id).ToList();
        var page = merged.Take(size).ToList();
        var alertIds = page.Where(e => e.Rank == TimelineCursor.AlertRank).Select(e => e.Id).ToList();
        var alerts = alertIds.Count == 0 ? [] : (await AlertViews.ProjectAsync(db, db.Alerts.AsNoTracking().Where(a => alertIds.Contains(a.Id)), true, ct)).ToDictionary(a => a.Id);
        var noteIds = page.Where(e => e.Rank == TimelineCursor.NoteRank).Select(e => e.Id).ToList();
        var notesById = noteIds.Count == 0 ? [] : (await db.CustomerNotes.AsNoTracking().Where(n => noteIds.Contains(n.Id)).ToListAsync(ct)).ToDictionary(n => n.Id, CustomerNoteEndpoints.View);
        var items = new List<TimelineItem>(page.Count);
        foreach (var entry in page)
        {
            switch (entry.Rank)
            {
                case TimelineCursor.ContactRank:
                    items.Add(new TimelineItem("contact", entry.At, await RecordViews.ContactAsync(db, scope, null, entry.Id, ct), null));
                    break;
                case TimelineCursor.ResponseRank:
                    items.Add(new TimelineItem("response", entry.At, null, await RecordViews.ResponseAsync(db, scope, null, entry.Id, ct)));
                    break;
                case TimelineCursor.AlertRank:
                    items.Add(new TimelineItem("alert", entry.At, null, null, Alert: alerts[entry.Id]));
                    break;
                default:
                    items.Add(new TimelineItem("note", entry.At, null, null, Note: notesById[entry.Id]));
                    break;
            }
        }
        var next = merged.Count > size ? new TimelineCursor(page[^1].At, page[^1].Rank, page[^1].Id).ToString() : null;
        return new TimelinePage(externalId, items, next);
    }
}

/// <summary>The kinds of entry a timeline adds to its contacts and responses when asked (<c>?include=alerts,notes</c>).</summary>
public static class TimelineExtras
{
    public const string Alerts = "alerts";
    public const string Notes = "notes";

    public static readonly string[] All = [Alerts, Notes];
}

/// <summary>An opaque position in a timeline: the instant, the kind of record and its id, newest first.</summary>
public sealed record TimelineCursor(DateTimeOffset At, int Rank, long Id)
{
    public const int ContactRank = 1;
    public const int ResponseRank = 2;
    public const int AlertRank = 3;
    public const int NoteRank = 4;

    /// <summary>
    /// The rows of one source that come after <paramref name="after"/> in the timeline's order (instant, then kind,
    /// then id, all descending): at the cursor's instant a kind ranked below the cursor's still comes after it.
    /// </summary>
    public static IQueryable<T> After<T>(IQueryable<T> query, TimelineCursor? after, int rank, Expression<Func<T, DateTimeOffset>> at, Expression<Func<T, long>> id)
    {
        if (after is null)
        {
            return query;
        }
        var row = at.Parameters[0];
        var atBody = at.Body;
        var idBody = new Rebind(id.Parameters[0], row).Visit(id.Body);
        // Through a closure object, so that EF Core sends the cursor as parameters rather than literals.
        var bound = Expression.Constant(new Bound(after.At, after.Id));
        var cursorAt = Expression.Field(bound, nameof(Bound.At));
        var cursorId = Expression.Field(bound, nameof(Bound.Id));
        Expression condition = rank < after.Rank ? Expression.LessThanOrEqual(atBody, cursorAt)
            : rank > after.Rank ? Expression.LessThan(atBody, cursorAt)
            : Expression.OrElse(Expression.LessThan(atBody, cursorAt), Expression.AndAlso(Expression.Equal(atBody, cursorAt), Expression.LessThan(idBody, cursorId)));
        return query.Where(Expression.Lambda<Func<T, bool>>(condition, row));
    }

    /// <summary>The projection of a source's row to its instant and id.</summary>
    public static Expression<Func<T, TimelineEntry>> Entry<T>(Expression<Func<T, DateTimeOffset>> at, Expression<Func<T, long>> id)
    {
        var row = at.Parameters[0];
        var idBody = new Rebind(id.Parameters[0], row).Visit(id.Body);
        return Expression.Lambda<Func<T, TimelineEntry>>(
            Expression.MemberInit(Expression.New(typeof(TimelineEntry)),
                Expression.Bind(typeof(TimelineEntry).GetProperty(nameof(TimelineEntry.At))!, at.Body),
                Expression.Bind(typeof(TimelineEntry).GetProperty(nameof(TimelineEntry.Id))!, idBody!)),
            row);
    }

    private sealed class Bound(DateTimeOffset at, long id)
    {
        public readonly DateTimeOffset At = at;
        public readonly long Id = id;
    }

    private sealed class Rebind(ParameterExpression from, ParameterExpression to) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == from ? to : base.VisitParameter(node);
    }

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
                && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var id)
                && ms >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds() && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
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
