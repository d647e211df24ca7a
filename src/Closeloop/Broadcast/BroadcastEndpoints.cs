using System.Text.Json;
using Closeloop.Alerts;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Broadcasts;

public sealed record BroadcastInput(string? Message, string? Priority, string? Site, string? Team, string? ExpiresIn);

public sealed record BroadcastView(
    long Id, string Message, string Priority, string? Site, string? Team, string Sender, string SenderName, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt,
    DateTimeOffset? WithdrawnAt, bool Read);

public sealed record ReceiptView(string Email, string Name, DateTimeOffset? ReadAt);

public sealed record ReceiptsView(long Id, int Audience, int Read, IReadOnlyList<ReceiptView> People);

public static class BroadcastEndpoints
{
    public static IEndpointRouteBuilder MapBroadcasts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/api/v1/broadcasts").WithTags("Broadcasts");

        group.MapPost("/", async Task<IResult> (BroadcastInput input, HttpContext http, CloseloopDb db, TimeProvider time, BroadcastPublisher publisher, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var (broadcast, errors) = await CreateAsync(db, scope, http.User.FindFirst(WebConsole.PersonSignIn.DisplayNameClaim)?.Value, input, time.GetUtcNow(), ct);
                if (broadcast is null)
                {
                    // A site-scoped sender naming a site or team beyond its own gets the 404 of every other write that
                    // names another site's record (an unknown code answers the same, so nothing leaks).
                    return scope.IsSiteScoped && (errors.ContainsKey("site") || errors.ContainsKey("team")) ? TypedResults.NotFound() : Problems.Validation(errors);
                }
                return TypedResults.Created($"/api/v1/broadcasts/{broadcast.Id}", await PublishPostedAsync(db, publisher, broadcast, ct));
            })
            .RequireAuthorization(Policies.Broadcast)
            .Produces<BroadcastView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithName("PostBroadcast").NamesEveryBadField()
            .WithSummary("Post a marquee message to all agents, a site or a team, with a priority (normal, urgent) and an expiry (ISO 8601 duration, default PT4H).");

        group.MapGet("/", async (HttpContext http, CloseloopDb db, TimeProvider time, bool? includeExpired, CancellationToken ct) =>
                TypedResults.Ok(await ListAsync(db, CallerScope.From(http.User), time.GetUtcNow(), includeExpired == true, ct)))
            .RequireAuthorization()
            .WithName("ListBroadcasts")
            .WithSummary("Live broadcasts that reach the caller or that the caller sent (with includeExpired, the last 100 as well), each saying whether the caller has read it.");

        group.MapPost("/{id:long}/read", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, BroadcastPublisher publisher, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var broadcast = await db.Broadcasts.AsNoTracking().FirstOrDefaultAsync(b => b.Id == id, ct);
                if (broadcast is null || !broadcast.Reaches(scope.SiteId, scope.TeamId) && broadcast.Sender != scope.Actor)
                {
                    return TypedResults.NotFound();
                }
                if (scope.UserId is not { } userId)
                {
                    return Problems.Validation("caller", "read receipts are kept for people signed in to the console, not for API keys");
                }
                if (!await db.BroadcastReads.AnyAsync(r => r.BroadcastId == id && r.UserId == userId, ct))
                {
                    db.BroadcastReads.Add(new BroadcastRead { BroadcastId = id, UserId = userId, ReadAt = time.GetUtcNow() });
                    try
                    {
                        await db.SaveChangesAsync(ct);
                    }
                    catch (DbUpdateException)
                    {
                        // Read twice at once (two tabs): the first receipt stands.
                    }
                    await publisher.PublishAsync(db, new BroadcastEvent("broadcast.read", id, broadcast.SiteId, broadcast.TeamId, broadcast.Sender, null), ct);
                }
                return TypedResults.NoContent();
            })
            .RequireAuthorization()
            .WithName("ReadBroadcast").WithSummary("Record that the signed-in person has read a broadcast (the bar's \"Got it\").");

        group.MapGet("/{id:long}/reads", async Task<IResult> (long id, HttpContext http, CloseloopDb db, CancellationToken ct) =>
                await ReceiptsAsync(db, CallerScope.From(http.User), id, ct) is { } receipts ? TypedResults.Ok(receipts) : TypedResults.NotFound())
            .RequireAuthorization(Policies.Broadcast)
            .Produces<ReceiptsView>()
            .WithName("BroadcastReceipts").WithSummary("Who in the audience has read a broadcast and when, and who has not yet; for its sender and admins.");

        group.MapDelete("/{id:long}", async Task<IResult> (long id, HttpContext http, CloseloopDb db, TimeProvider time, BroadcastPublisher publisher, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                var broadcast = await db.Broadcasts.FirstOrDefaultAsync(b => b.Id == id, ct);
                if (broadcast is null || !broadcast.ReceiptsVisibleTo(scope))
                {
                    return TypedResults.NotFound();
                }
                broadcast.Withdraw(time.GetUtcNow());
                await db.SaveChangesAsync(ct);
                await publisher.PublishAsync(db, new BroadcastEvent("broadcast.withdrawn", id, broadcast.SiteId, broadcast.TeamId, broadcast.Sender, null), ct);
                return TypedResults.NoContent();
            })
            .RequireAuthorization(Policies.Broadcast)
            .WithName("WithdrawBroadcast").WithSummary("Take a broadcast down before it expires.");

        group.MapGet("/stream", async (HttpContext http, CloseloopDb db, TimeProvider time, BroadcastHub hub, CancellationToken ct) =>
            {
                var scope = CallerScope.From(http.User);
                http.Response.Headers.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                http.Response.Headers["X-Accel-Buffering"] = "no";
                // Subscribe before reading what is live, so nothing posted in between is missed (the page ignores repeats).
                var reader = hub.Subscribe(out var unsubscribe);
                try
                {
                    var live = (await ListAsync(db, scope, time.GetUtcNow(), false, ct)).Where(b => !b.Read).ToList();
                    foreach (var b in live.OrderBy(b => b.CreatedAt))
                    {
                        await WriteAsync(http, "broadcast.posted", b, ct);
                    }
                    await http.Response.WriteAsync(": connected\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    while (!ct.IsCancellationRequested)
                    {
                        using var heartbeat = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        heartbeat.CancelAfter(TimeSpan.FromSeconds(15));
                        BroadcastEvent next;
                        try
                        {
                            next = await reader.ReadAsync(heartbeat.Token);
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                            await http.Response.WriteAsync(": keep-alive\n\n", ct);
                            await http.Response.Body.FlushAsync(ct);
                            continue;
                        }
                        var reaches = next.TeamId is { } team ? scope.TeamId == team : next.SiteId is not { } site || scope.SiteId == site;
                        var mine = next.Sender == scope.Actor;
                        if (next.Type == "broadcast.read" ? mine : reaches || mine)
                        {
                            await WriteAsync(http, next.Type, (object?)next.Broadcast ?? new { id = next.Id }, ct);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // The page was closed.
                }
                finally
                {
                    unsubscribe();
                }
            })
            .RequireAuthorization()
            .WithName("StreamBroadcasts").WithSummary("Server-Sent Events: the caller's unread live broadcasts at once, then each one posted, withdrawn or (to its sender) read.");
        return routes;
    }

    private static async Task WriteAsync(HttpContext http, string type, object data, CancellationToken ct)
    {
        await http.Response.WriteAsync($"event: {type}\ndata: {JsonSerializer.Serialize(data, JsonSerializerOptions.Web)}\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
    }

    /// <summary>Pushes a stored broadcast to every console page in its audience.</summary>
    public static async Task<BroadcastView> PublishPostedAsync(CloseloopDb db, BroadcastPublisher publisher, Broadcast broadcast, CancellationToken ct)
    {
        var view = (await ViewsAsync(db, db.Broadcasts.Where(b => b.Id == broadcast.Id), null, ct))[0];
        await publisher.PublishAsync(db, new BroadcastEvent("broadcast.posted", broadcast.Id, broadcast.SiteId, broadcast.TeamId, broadcast.Sender, view), ct);
        return view;
    }

    /// <summary>Validates and stores a broadcast; shared by the API and the console's broadcast page.</summary>
    public static async Task<(Broadcast? Broadcast, Dictionary<string, string[]> Errors)> CreateAsync(
        CloseloopDb db, CallerScope scope, string? senderName, BroadcastInput input, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var message = input.Message?.Trim();
        if (string.IsNullOrEmpty(message) || message.Length > Broadcast.MaxLength)
        {
            errors["message"] = [$"is required (at most {Broadcast.MaxLength} characters)"];
        }
        var priority = string.IsNullOrWhiteSpace(input.Priority) ? BroadcastPriority.Normal : input.Priority.Trim().ToLowerInvariant();
        if (!BroadcastPriority.All.Contains(priority))
        {
            errors["priority"] = [$"must be one of {string.Join(", ", BroadcastPriority.All)}"];
        }
        var lifetime = Broadcast.DefaultLifetime;
        if (!string.IsNullOrWhiteSpace(input.ExpiresIn) && (!AlertRuleDefinition.TryDuration(input.ExpiresIn.Trim(), out lifetime) || lifetime <= TimeSpan.Zero || lifetime > Broadcast.MaxLifetime))
        {
            errors["expiresIn"] = ["must be an ISO 8601 duration between PT1S and P7D, for example PT4H"];
        }
        long? siteId = null, teamId = null;
        if (!string.IsNullOrWhiteSpace(input.Site))
        {
            var code = input.Site.Trim().ToLowerInvariant();
            siteId = await db.Sites.Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync(ct);
            // A site outside the sender's scope is answered as if it did not exist.
            if (siteId is null || !scope.CanSeeSite(siteId.Value))
            {
                errors["site"] = ["no site with this code"];
                siteId = null;
            }
        }
        if (!string.IsNullOrWhiteSpace(input.Team))
        {
            var code = input.Team.Trim().ToLowerInvariant();
            var team = await db.Teams.Where(t => t.Code == code).Select(t => new { t.Id, t.SiteId }).FirstOrDefaultAsync(ct);
            if (team is null || !scope.CanSeeSite(team.SiteId) || (siteId is not null && team.SiteId != siteId))
            {
                errors["team"] = ["no team with this code" + (siteId is not null ? " in this site" : "")];
            }
            else
            {
                teamId = team.Id;
                siteId = team.SiteId;
            }
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        // A site-scoped sender speaks to their own site at most, never to every vendor.
        siteId ??= scope.SiteId;
        var broadcast = new Broadcast
        {
            Message = message!, Priority = priority, SiteId = siteId, TeamId = teamId, Sender = scope.Actor, SenderName = senderName ?? scope.Actor,
            SenderSiteId = scope.SiteId, CreatedAt = now, ExpiresAt = now + lifetime,
        };
        db.Broadcasts.Add(broadcast);
        await db.SaveChangesAsync(ct);
        return (broadcast, errors);
    }

    public static async Task<List<BroadcastView>> ListAsync(CloseloopDb db, CallerScope scope, DateTimeOffset now, bool includeExpired, CancellationToken ct)
    {
        var query = db.Broadcasts.AsNoTracking();
        query = includeExpired ? query.OrderByDescending(b => b.Id).Take(100) : query.Where(b => b.WithdrawnAt == null && b.ExpiresAt > now);
        var candidates = await query.ToListAsync(ct);
        var unscopedReader = scope.SiteId is null && scope.Role is Roles.Admin or Roles.Executive;
        var visible = candidates.Where(b => b.Reaches(scope.SiteId, scope.TeamId) || b.Sender == scope.Actor || unscopedReader
            || (scope.Role == Roles.SiteManager && scope.SiteId is { } s && b.SiteId == s)).Select(b => b.Id).ToList();
        return await ViewsAsync(db, db.Broadcasts.Where(b => visible.Contains(b.Id)), scope.UserId, ct);
    }

    private static async Task<List<BroadcastView>> ViewsAsync(CloseloopDb db, IQueryable<Broadcast> query, long? userId, CancellationToken ct) =>
        await query.AsNoTracking().OrderByDescending(b => b.Priority == BroadcastPriority.Urgent).ThenByDescending(b => b.Id)
            .Select(b => new BroadcastView(b.Id, b.Message, b.Priority,
                db.Sites.Where(s => s.Id == b.SiteId).Select(s => s.Code).FirstOrDefault(),
                db.Teams.Where(t => t.Id == b.TeamId).Select(t => t.Code).FirstOrDefault(),
                b.Sender, b.SenderName, b.CreatedAt, b.ExpiresAt, b.WithdrawnAt,
                userId != null && db.BroadcastReads.Any(r => r.BroadcastId == b.Id && r.UserId == userId)))
            .ToListAsync(ct);

    public static async Task<ReceiptsView?> ReceiptsAsync(CloseloopDb db, CallerScope scope, long id, CancellationToken ct)
    {
        var broadcast = await db.Broadcasts.AsNoTracking().FirstOrDefaultAsync(b => b.Id == id, ct);
        if (broadcast is null || !broadcast.ReceiptsVisibleTo(scope))
        {
            return null;
        }
        var audience = db.Users.AsNoTracking().Where(u => !u.Disabled && u.Email != broadcast.Sender);
        audience = broadcast.TeamId is { } team ? audience.Where(u => u.TeamId == team)
            : broadcast.SiteId is { } site ? audience.Where(u => u.SiteId == site)
            : audience;
        var people = await audience.OrderBy(u => u.Email)
            .Select(u => new ReceiptView(u.Email, u.Name, db.BroadcastReads.Where(r => r.BroadcastId == id && r.UserId == u.Id).Select(r => (DateTimeOffset?)r.ReadAt).FirstOrDefault()))
            .ToListAsync(ct);
        // Readers first, in the order they read it.
        var ordered = people.OrderBy(p => p.ReadAt is null).ThenBy(p => p.ReadAt).ThenBy(p => p.Email, StringComparer.Ordinal).ToList();
        return new ReceiptsView(id, people.Count, people.Count(p => p.ReadAt is not null), ordered);
    }
}
