using Closeloop.Data;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Notifications;

/// <summary>
/// One destination's backlog: the SMTP server (<c>email</c>) or a webhook subscription. <c>Down</c> and the times after
/// it are this process's view (<see cref="Destinations"/>); with several processes each has its own.
/// </summary>
public sealed record OutboxDestinationView(
    string Destination, long? Subscription, int Waiting, DateTimeOffset? WaitingSince, int Failing, string? LastError,
    bool Down, DateTimeOffset? DownSince, int FailedTries, DateTimeOffset? NextTry);

public static class OutboxEndpoints
{
    public static IEndpointRouteBuilder MapOutbox(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/v1/outbox", async (CloseloopDb db, Destinations destinations, TimeProvider time, CancellationToken ct) =>
                TypedResults.Ok(await StatusAsync(db, destinations, time.GetUtcNow(), ct)))
            .RequireAuthorization(Policies.Admin).WithTags("Webhooks")
            .WithName("GetOutbox")
            .WithSummary("What waits to be delivered, per destination (e-mail, each webhook subscription): how many, since when, how many failed, the last error, and whether this process holds the destination down until its next try.");
        return routes;
    }

    /// <summary>The backlog of every destination that has one or that this process holds down, ordered by destination.</summary>
    public static async Task<List<OutboxDestinationView>> StatusAsync(CloseloopDb db, Destinations destinations, DateTimeOffset now, CancellationToken ct)
    {
        var waiting = await db.Outbox.AsNoTracking().Where(m => m.SentAt == null)
            .GroupBy(m => m.Kind == OutboxKinds.Email ? Destinations.Smtp : m.Recipient)
            .Select(g => new { Destination = g.Key, Waiting = g.Count(), OldestId = g.Min(m => m.Id), Failing = g.Count(m => m.Attempts > 0) })
            .ToListAsync(ct);
        // The oldest waiting message's time and the newest error of each destination, read by id.
        var oldest = waiting.Select(w => w.OldestId).ToList();
        var since = await db.Outbox.AsNoTracking().Where(m => oldest.Contains(m.Id)).Select(m => new { m.Id, m.CreatedAt }).ToDictionaryAsync(m => m.Id, m => m.CreatedAt, ct);
        var errors = (await db.Outbox.AsNoTracking().Where(m => m.SentAt == null && m.LastError != null).OrderByDescending(m => m.Id).Take(1000)
                .Select(m => new { m.Kind, m.Recipient, m.LastError }).ToListAsync(ct))
            .GroupBy(m => m.Kind == OutboxKinds.Email ? Destinations.Smtp : m.Recipient).ToDictionary(g => g.Key, g => g.First().LastError);
        var outages = destinations.Outages();
        return waiting.Select(w => w.Destination).Union(outages.Keys).Order(StringComparer.Ordinal).Select(key =>
        {
            var backlog = waiting.FirstOrDefault(w => w.Destination == key);
            var outage = outages.GetValueOrDefault(key);
            return new OutboxDestinationView(
                key == Destinations.Smtp ? "email" : "webhook",
                key == Destinations.Smtp ? null : long.Parse(key["subscription:".Length..], System.Globalization.CultureInfo.InvariantCulture),
                backlog?.Waiting ?? 0, backlog is null ? null : since.GetValueOrDefault(backlog.OldestId), backlog?.Failing ?? 0, errors.GetValueOrDefault(key),
                outage?.Holds(now) ?? false, outage?.Since, outage?.Failures ?? 0, outage?.NextTry);
        }).ToList();
    }
}
