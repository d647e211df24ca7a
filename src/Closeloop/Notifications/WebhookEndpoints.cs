using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Notifications;

public sealed record WebhookInput(string? Url, string[]? Events, string? Secret, string? Site);

public sealed record WebhookView(long Id, string Url, string[] Events, string? Site, bool Enabled, DateTimeOffset CreatedAt);

public sealed record WebhookCreated(long Id, string Url, string[] Events, string? Site, string Secret);

public static class WebhookEndpoints
{
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.Admin);
        group.MapGet("/", async (CloseloopDb db, CancellationToken ct) =>
            {
                var rows = await db.WebhookSubscriptions.AsNoTracking().OrderBy(w => w.Id)
                    .Select(w => new { w.Id, w.Url, w.Events, Site = db.Sites.Where(s => s.Id == w.SiteId).Select(s => s.Code).FirstOrDefault(), w.Enabled, w.CreatedAt })
                    .ToListAsync(ct);
                return TypedResults.Ok(rows.Select(w => new WebhookView(w.Id, w.Url, w.Events.Split(','), w.Site, w.Enabled, w.CreatedAt)).ToList());
            })
            .WithName("ListWebhooks").WithSummary("Outbound webhook subscriptions (without their secrets).");
        group.MapPost("/", async Task<IResult> (WebhookInput input, CloseloopDb db, TimeProvider time, IConfiguration configuration, CancellationToken ct) =>
            {
                var (created, errors) = await WebhookSubscriptions.CreateAsync(db, input, WebhookNetwork.AllowsLinkLocal(configuration), time.GetUtcNow(), ct);
                return created is null ? Problems.Validation(errors) : TypedResults.Created($"/api/v1/webhooks/{created.Id}", created);
            })
            .WithName("CreateWebhook").NamesEveryBadField()
            .WithSummary("Subscribe a URL to events (alert.created, alert.escalated, customer.outcome… or *); deliveries carry X-Closeloop-Signature: sha256=HMAC(secret, body).");
        group.MapDelete("/{id:long}", async Task<Results<NoContent, NotFound>> (long id, CloseloopDb db, CancellationToken ct) =>
                await WebhookSubscriptions.DeleteAsync(db, id, ct) ? TypedResults.NoContent() : TypedResults.NotFound())
            .WithName("DeleteWebhook").WithSummary("Remove a webhook subscription.");
        return routes;
    }
}

/// <summary>Subscribing and unsubscribing webhooks, shared by the HTTP API and the console's webhooks page.</summary>
public static class WebhookSubscriptions
{
    /// <summary>Validates and saves a subscription; the answer holds its signing secret (given, or generated when shorter than 16 characters).</summary>
    public static async Task<(WebhookCreated? Created, Dictionary<string, string[]> Errors)> CreateAsync(CloseloopDb db, WebhookInput input, bool allowLinkLocal, DateTimeOffset now,
        CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!Uri.TryCreate(input.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            errors["url"] = ["must be an absolute http or https URL"];
        }
        else if (System.Net.IPAddress.TryParse(url.IdnHost.Trim('[', ']'), out var address) && WebhookNetwork.IsRefused(address) && !allowLinkLocal)
        {
            errors["url"] = [WebhookNetwork.Refusal];
        }
        var events = (input.Events is { Length: > 0 } list ? list : ["*"]).Select(e => e.Trim()).Where(e => e.Length > 0).ToArray();
        if (events.Any(e => e.Contains(',', StringComparison.Ordinal)))
        {
            errors["events"] = ["names must not contain commas"];
        }
        long? siteId = null;
        if (input.Site is not null)
        {
            siteId = await db.Sites.Where(s => s.Code == input.Site.ToLowerInvariant()).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
            if (siteId is null)
            {
                errors["site"] = ["no site with this code"];
            }
        }
        if (!string.IsNullOrEmpty(input.Secret) && input.Secret.Length < 16)
        {
            // Replacing it silently would leave a receiver set up with its own secret failing every signature check.
            errors["secret"] = ["must be at least 16 characters; leave it out and one is generated"];
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        var secret = input.Secret is { Length: >= 16 } given ? given : Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var subscription = new WebhookSubscription { Url = url!.ToString(), Secret = secret, Events = string.Join(',', events), SiteId = siteId, CreatedAt = now };
        db.WebhookSubscriptions.Add(subscription);
        await db.SaveChangesAsync(ct);
        return (new WebhookCreated(subscription.Id, subscription.Url, events, input.Site, secret), errors);
    }

    public static async Task<bool> DeleteAsync(CloseloopDb db, long id, CancellationToken ct) =>
        await db.WebhookSubscriptions.Where(w => w.Id == id).ExecuteDeleteAsync(ct) > 0;

    /// <summary>The outbox addresses a delivery to "subscription:{id}".</summary>
    public static string Recipient(long id) => $"subscription:{id}";
}
