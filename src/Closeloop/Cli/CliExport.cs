using System.Text;
using System.Text.Json;
using Closeloop.Customers;
using Closeloop.Data;
using Closeloop.Metrics;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Cli;

/// <summary>
/// <c>closeloop export</c>: contacts or responses as CSV in the columns <c>closeloop import</c> reads (so a file moves
/// records from one deployment to another), with their analysis beside them; or everything kept about one customer
/// as JSON, for a customer who asks for their data.
/// </summary>
internal static class CliExport
{
    public static readonly string[] ResponseHeader =
    [
        "externalId", "customerExternalId", "customerName", "customerEmail", "customerPhone", "customerHandle",
        "metric", "score", "comment", "respondedAt", "contactExternalId", "site", "team", "agent", "channel",
        "sentiment", "signals", "rootCause", "rootCauseConfidence", "receivedAt",
    ];

    public static readonly string[] ContactHeader =
    [
        "externalId", "customerExternalId", "customerName", "customerEmail", "customerPhone", "customerHandle",
        "channel", "occurredAt", "site", "team", "agent", "queue", "reason", "waitSeconds", "transfers", "resolved",
        "summary", "sentiment", "signals", "rootCause", "rootCauseConfidence", "receivedAt",
    ];

    public static async Task<int> RunAsync(IServiceProvider services, CliVerbs.CliOptions options, TextWriter stdout, TextWriter stderr)
    {
        var what = options.Positional.ElementAtOrDefault(0);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        if (what == "customer")
        {
            if (options.Positional.ElementAtOrDefault(1) is not { } customer)
            {
                await stderr.WriteLineAsync("export customer needs the customer's external id: closeloop export customer CUST-42 [FILE.json]");
                return 2;
            }
            return await WithOutputAsync(options.Positional.ElementAtOrDefault(2) ?? options.Named.GetValueOrDefault("out"), stdout, stderr,
                writer => CustomerAsync(db, customer, writer, stderr));
        }
        if (what is not ("responses" or "contacts"))
        {
            await stderr.WriteLineAsync("export needs what to export: responses, contacts or customer ID");
            return 2;
        }
        // The same reading of a period as GET /api/v1/metrics: a date alone is the whole UTC day.
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var from = MetricsEndpoints.ParseBound(options.Named.GetValueOrDefault("from"), false, "from", errors);
        var to = MetricsEndpoints.ParseBound(options.Named.GetValueOrDefault("to"), true, "to", errors);
        if (errors.Count > 0)
        {
            foreach (var (field, messages) in errors)
            {
                await stderr.WriteLineAsync($"--{field} {string.Join("; ", messages)}");
            }
            return 2;
        }
        long? siteId = null;
        if (options.Named.GetValueOrDefault("site") is { } site)
        {
            var code = site.Trim().ToLowerInvariant();
            siteId = await db.Sites.Where(s => s.Code == code).Select(s => (long?)s.Id).FirstOrDefaultAsync();
            if (siteId is null)
            {
                await stderr.WriteLineAsync($"No site '{site}'.");
                return 1;
            }
        }
        return await WithOutputAsync(options.Positional.ElementAtOrDefault(1) ?? options.Named.GetValueOrDefault("out"), stdout, stderr, async writer =>
        {
            var rows = what == "responses" ? Responses(db, from, to, siteId) : Contacts(db, from, to, siteId);
            await writer.WriteAsync(CsvExport.Line(what == "responses" ? ResponseHeader : ContactHeader));
            var count = 0;
            await foreach (var row in rows)
            {
                await writer.WriteAsync(CsvExport.Line(row));
                count++;
            }
            await stderr.WriteLineAsync($"{count} {what} exported.");
            return 0;
        });
    }

    private static async Task<int> WithOutputAsync(string? file, TextWriter stdout, TextWriter stderr, Func<TextWriter, Task<int>> write)
    {
        if (file is null)
        {
            return await write(stdout);
        }
        // Checked before the export starts, and named as the user wrote it rather than as the ".partial" file below.
        if (Path.GetDirectoryName(Path.GetFullPath(file)) is { } directory && !Directory.Exists(directory))
        {
            await stderr.WriteLineAsync($"No such directory: {directory}");
            return 2;
        }
        if (Directory.Exists(file))
        {
            await stderr.WriteLineAsync($"{file} is a directory; name the file to write.");
            return 2;
        }
        // Written beside the target and moved into place, so a failed export never leaves half a file under its name.
        var partial = file + ".partial";
        var exit = 1;
        try
        {
            await using (var writer = new StreamWriter(partial, false, new UTF8Encoding(false), 64 * 1024))
            {
                exit = await write(writer);
            }
            if (exit == 0)
            {
                File.Move(partial, file, overwrite: true);
            }
        }
        finally
        {
            if (exit != 0)
            {
                File.Delete(partial);
            }
        }
        return exit;
    }

    /// <summary>
    /// A response written with its contact leaves site, team, agent and channel empty, as it was posted: they come
    /// from the contact, and an import gives them back the same way.
    /// </summary>
    private static IAsyncEnumerable<object?[]> Responses(CloseloopDb db, DateTimeOffset? from, DateTimeOffset? to, long? siteId)
    {
        var query = db.Responses.AsNoTracking();
        if (from is { } a)
        {
            query = query.Where(r => r.RespondedAt >= a);
        }
        if (to is { } b)
        {
            query = query.Where(r => r.RespondedAt < b);
        }
        if (siteId is { } s)
        {
            query = query.Where(r => r.SiteId == s);
        }
        // The customer's details as they stand, so that an import into another database makes the same profile.
        return (from r in query
                join c in db.Customers on r.CustomerId equals c.Id
                orderby r.Id
                select new object?[]
                {
                    r.ExternalId, c.ExternalId, c.Name, c.Email, c.Phone, c.Handle,
                    r.Metric, r.Score, r.Comment, r.RespondedAt,
                    r.ContactId == null ? null : db.Contacts.Where(x => x.Id == r.ContactId).Select(x => x.ExternalId).FirstOrDefault(),
                    r.ContactId != null ? null : db.Sites.Where(x => x.Id == r.SiteId).Select(x => x.Code).FirstOrDefault(),
                    r.ContactId != null ? null : db.Teams.Where(x => x.Id == r.TeamId).Select(x => x.Code).FirstOrDefault(),
                    r.ContactId != null ? null : db.Agents.Where(x => x.Id == r.AgentId).Select(x => x.Code).FirstOrDefault(),
                    r.ContactId != null ? null : r.Channel,
                    r.Sentiment, r.Signals, r.RootCause, r.RootCauseConfidence, r.ReceivedAt,
                }).AsAsyncEnumerable();
    }

    private static IAsyncEnumerable<object?[]> Contacts(CloseloopDb db, DateTimeOffset? from, DateTimeOffset? to, long? siteId)
    {
        var query = db.Contacts.AsNoTracking();
        if (from is { } a)
        {
            query = query.Where(c => c.OccurredAt >= a);
        }
        if (to is { } b)
        {
            query = query.Where(c => c.OccurredAt < b);
        }
        if (siteId is { } s)
        {
            query = query.Where(c => c.SiteId == s);
        }
        return (from x in query
                join c in db.Customers on x.CustomerId equals c.Id
                orderby x.Id
                select new object?[]
                {
                    x.ExternalId, c.ExternalId, c.Name, c.Email, c.Phone, c.Handle,
                    x.Channel, x.OccurredAt,
                    db.Sites.Where(s => s.Id == x.SiteId).Select(s => s.Code).FirstOrDefault(),
                    db.Teams.Where(t => t.Id == x.TeamId).Select(t => t.Code).FirstOrDefault(),
                    db.Agents.Where(a => a.Id == x.AgentId).Select(a => a.Code).FirstOrDefault(),
                    x.Queue, x.Reason, x.WaitSeconds, x.Transfers, x.Resolved, x.Summary,
                    x.Sentiment, x.Signals, x.RootCause, x.RootCauseConfidence, x.ReceivedAt,
                }).AsAsyncEnumerable();
    }

    /// <summary>
    /// The profile, preferences and notes, and the whole timeline with alerts, as the admin API shows them; the survey
    /// invitations with the other answers given on them; and every message sent (or queued) to the customer.
    /// </summary>
    private static async Task<int> CustomerAsync(CloseloopDb db, string externalId, TextWriter writer, TextWriter stderr)
    {
        var everything = new CallerScope(Roles.Admin, null, null, "cli");
        var customer = await CustomerEndpoints.VisibleCustomerAsync(db, everything, externalId, CancellationToken.None);
        if (customer is null)
        {
            await stderr.WriteLineAsync($"No customer '{externalId}'.");
            return 1;
        }
        var timeline = new List<TimelineItem>();
        TimelineCursor? cursor = null;
        var include = new HashSet<string>(TimelineExtras.All);
        do
        {
            var page = await CustomerEndpoints.TimelineAsync(db, everything, customer.Id, externalId, cursor, 200, CancellationToken.None, include);
            timeline.AddRange(page.Items);
            cursor = page.NextCursor is { } next && TimelineCursor.TryParse(next, out var parsed) ? parsed : null;
        }
        while (cursor is not null);
        // The token is left out: for an open invitation it is a live credential, and the export may travel.
        var invitations = await db.SurveyInvitations.AsNoTracking().Where(i => i.CustomerId == customer.Id).OrderBy(i => i.Id)
            .Select(i => new
            {
                i.Metric, i.Channel, i.CreatedAt, i.ExpiresAt, i.SentAt, i.OpenedAt, i.AnsweredAt,
                contactExternalId = db.Contacts.Where(c => c.Id == i.ContactId).Select(c => c.ExternalId).FirstOrDefault(),
                responseExternalId = db.Responses.Where(r => r.Id == i.ResponseId).Select(r => r.ExternalId).FirstOrDefault(),
                i.AlertId, i.Answers,
            }).ToListAsync();
        // Messages to the customer are addressed to one of their contact points (customer.outcome, the follow-up
        // survey, "you said, we did"); messages to staff about them are not theirs.
        var points = new[] { customer.Email, customer.Phone, customer.Handle }.OfType<string>().ToList();
        var messages = await db.Outbox.AsNoTracking().Where(m => m.Event.StartsWith("customer.") && points.Contains(m.Recipient)).OrderBy(m => m.Id)
            .Select(m => new { m.Event, m.Kind, m.Recipient, m.Subject, m.Body, m.CreatedAt, m.SentAt, m.AlertId }).ToListAsync();
        var document = new
        {
            exportedAt = TimeProvider.System.GetUtcNow(),
            profile = await CustomerEndpoints.ProfileAsync(db, everything, externalId, CancellationToken.None),
            preferences = await CustomerNoteEndpoints.PreferencesAsync(db, everything, customer, CancellationToken.None),
            timeline,
            surveyInvitations = invitations.Select(i => new
            {
                i.Metric, i.Channel, i.CreatedAt, i.ExpiresAt, i.SentAt, i.OpenedAt, i.AnsweredAt, i.contactExternalId, i.responseExternalId, i.AlertId,
                answers = i.Answers is { } answers ? JsonDocument.Parse(answers).RootElement : (JsonElement?)null,
            }),
            messages,
        };
        await writer.WriteLineAsync(JsonSerializer.Serialize(document, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }));
        await stderr.WriteLineAsync($"Customer {externalId}: {timeline.Count} timeline entries, {invitations.Count} survey invitations and {messages.Count} messages exported.");
        return 0;
    }
}
