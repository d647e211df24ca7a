using Closeloop.Data;
using Closeloop.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Closeloop.Insights;

/// <summary>What shipping an improvement did: who was told, and who was not and why.</summary>
public sealed record ShipResult(long Told, long Skipped, IReadOnlyDictionary<string, long> SkippedBecause);

/// <summary>
/// Ships an improvement action and tells every customer who raised its cause in the evidence period what was done
/// ("you said, we did"), on the channel they prefer, in one transaction with the status change. A customer is told
/// once: the notification key is (action, customer), a customer already told about the same cause by an earlier
/// action is skipped, and only one of two concurrent requests to ship can move the status.
/// </summary>
public sealed class ImprovementShipping(Outbox outbox, OutboxSignal signal, TimeProvider time)
{
    public async Task<ShipResult> ShipAsync(CloseloopDb db, ImprovementAction action, string? message, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var from = action.Status;
        action.MoveTo(ImprovementStatus.Shipped, now);
        action.Message = message ?? action.Message;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var connection = db.Database.GetDbConnection();
        var dbTransaction = transaction.GetDbTransaction();
        // The status moves only from the state this request read, so a second request racing this one changes nothing.
        var moved = await db.ImprovementActions.Where(a => a.Id == action.Id && a.Status == from)
            .ExecuteUpdateAsync(u => u.SetProperty(a => a.Status, ImprovementStatus.Shipped).SetProperty(a => a.ShippedAt, now).SetProperty(a => a.UpdatedAt, now)
                .SetProperty(a => a.Message, action.Message), ct);
        if (moved != 1)
        {
            throw new InvalidTransitionException("The improvement action was changed at the same time; reload it.");
        }

        var raisedBy = new Dictionary<long, long>();
        var parameters = new (string, object?)[] { ("@c", action.Cause), ("@a", action.EvidenceFrom.ToUnixTimeMilliseconds()), ("@b", action.EvidenceTo.ToUnixTimeMilliseconds()) };
        await RecurringCauseWorker.ReadAsync(db,
            "SELECT customer_id, MIN(site_id) FROM (SELECT customer_id, site_id FROM responses WHERE root_cause = @c AND responded_at >= @a AND responded_at < @b " +
            "UNION ALL SELECT customer_id, site_id FROM contacts WHERE root_cause = @c AND occurred_at >= @a AND occurred_at < @b) x GROUP BY customer_id",
            parameters, r => raisedBy[r.GetInt64(0)] = r.GetInt64(1), ct);
        var alreadyTold = new HashSet<long>();
        await RecurringCauseWorker.ReadAsync(db,
            "SELECT n.customer_id FROM improvement_notifications n JOIN improvement_actions a ON a.id = n.action_id WHERE a.cause = @c AND n.outcome = 'sent' AND a.id <> @id",
            [("@c", action.Cause), ("@id", action.Id)], r => alreadyTold.Add(r.GetInt64(0)), ct);

        var causeName = await db.RootCauses.Where(c => c.Code == action.Cause).Select(c => c.Name).FirstOrDefaultAsync(ct) ?? action.Cause;
        var what = string.IsNullOrWhiteSpace(action.Message) ? action.Title : action.Message;
        long told = 0;
        var skipped = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var chunk in raisedBy.Keys.Order().Chunk(500))
        {
            var customers = await db.Customers.AsNoTracking().Where(c => chunk.Contains(c.Id)).ToListAsync(ct);
            foreach (var customer in customers)
            {
                var channel = Alerts.AlertActions.PreferredChannel(customer);
                var outcome = alreadyTold.Contains(customer.Id) ? "already told"
                    : customer.DoNotContact ? "do-not-contact"
                    : !customer.Consent ? "no consent"
                    : channel is null ? "no contact point"
                    : "sent";
                if (!await RecordAsync(connection, dbTransaction, action.Id, customer.Id, outcome == "sent" ? channel!.Value.Channel : null, outcome, now, ct))
                {
                    continue;
                }
                if (outcome != "sent")
                {
                    skipped[outcome] = skipped.GetValueOrDefault(outcome) + 1;
                    continue;
                }
                told++;
                var text = $"Hello {customer.Name ?? "there"},\n\nYou told us about a problem: {causeName.ToLowerInvariant()}. We listened, and this is what we changed: {what}\n\n" +
                    "Thank you for telling us. It helps every customer who comes after you.\n";
                if (channel!.Value.Channel == "email")
                {
                    await outbox.EmailAsync(connection, dbTransaction, "customer.you_said_we_did", channel.Value.Address, "You said, we did", text, null, now, ct);
                }
                else
                {
                    // SMS and social messages leave through the outbound webhook, for the gateway the company uses.
                    await outbox.WebhooksAsync(connection, dbTransaction, "customer.you_said_we_did",
                        new { improvementActionId = action.Id, customer = customer.ExternalId, channel = channel.Value.Channel, to = channel.Value.Address, text }, raisedBy[customer.Id], null, now, ct);
                }
            }
        }
        var skippedTotal = skipped.Values.Sum();
        await db.ImprovementActions.Where(a => a.Id == action.Id)
            .ExecuteUpdateAsync(u => u.SetProperty(a => a.CustomersTold, told).SetProperty(a => a.CustomersSkipped, skippedTotal), ct);
        await outbox.WebhooksAsync(connection, dbTransaction, "improvement.shipped",
            new { id = action.Id, cause = action.Cause, department = action.Department, title = action.Title, customersTold = told, customersSkipped = skippedTotal }, 0, null, now, ct);
        await transaction.CommitAsync(ct);
        signal.Pending();
        action.CustomersTold = told;
        action.CustomersSkipped = skippedTotal;
        return new ShipResult(told, skippedTotal, skipped);
    }

    /// <summary>Records the customer against the action; false when they were already recorded (never twice).</summary>
    private static async Task<bool> RecordAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, long actionId, long customerId,
        string? channel, string outcome, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO improvement_notifications (action_id, customer_id, channel, outcome, created_at) VALUES (@a, @c, @ch, @o, @now) ON CONFLICT DO NOTHING";
        Migrator.AddParameter(command, "@a", actionId);
        Migrator.AddParameter(command, "@c", customerId);
        Migrator.AddParameter(command, "@ch", channel);
        Migrator.AddParameter(command, "@o", outcome);
        Migrator.AddParameter(command, "@now", now.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }
}
