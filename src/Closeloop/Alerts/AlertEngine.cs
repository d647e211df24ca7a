using System.Data.Common;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Live;
using Closeloop.Notifications;
using Closeloop.Responses;

namespace Closeloop.Alerts;

/// <summary>
/// Evaluates the alert rules against every record in the ingest transaction, so an alert exists the moment the
/// record is acknowledged. An active alert of the same customer and rule absorbs a new match instead of opening
/// a second one, and a record that matches several rules opens one alert (the first rule's), noting the others.
/// It also records the follow-up score of a recovered customer.
/// </summary>
public sealed class AlertEngine(
    AlertRuleCache rules, OwnerResolver owners, Outbox outbox, OutboxSignal signal, AlertEventPublisher publisher, SiteCalendars calendars,
    IConfiguration configuration) : IIngestObserver
{
    public async Task BeforeCommitAsync(DbConnection connection, DbTransaction transaction, IngestBatch batch, CancellationToken cancellationToken)
    {
        var ct = cancellationToken;
        var events = new List<AlertEvent>();
        var queued = false;
        batch.AfterCommitActions.Add(() =>
        {
            foreach (var alertEvent in events)
            {
                publisher.PublishLocal(alertEvent);
            }
            // Only a new alert queues messages. Waking the sender for an absorbed match would cost a claim, a write
            // that waits for the ingest writer's lock on SQLite, for every batch of a busy rule.
            if (queued)
            {
                signal.Pending();
            }
        });
        // One look per batch: only when some recovered customer still owes a follow-up answer is each response checked.
        if (batch.Responses.Count > 0 && await batch.Command("alerts.followup-owed",
                "SELECT id FROM alerts WHERE status IN ('resolved', 'closed') AND followup_score IS NULL LIMIT 1").ExecuteScalarAsync(ct) is long)
        {
            foreach (var response in batch.Responses)
            {
                await RecordFollowUpAsync(connection, transaction, response, batch.Now, ct);
            }
        }
        var active = await rules.GetAsync(ct);
        if (active.Count == 0)
        {
            return;
        }
        var context = new Lookup(batch);
        foreach (var response in batch.Responses)
        {
            var facts = await FactsAsync(context, response, ct);
            queued |= await EvaluateAsync(connection, transaction, batch, context, active, facts, "response", response.Id, response.Input.ExternalId, response.CustomerId,
                response.SiteId, response.TeamId, response.AgentId, batch.Now, events, ct);
        }
        foreach (var contact in batch.Contacts)
        {
            var facts = await FactsAsync(context, contact, ct);
            queued |= await EvaluateAsync(connection, transaction, batch, context, active, facts, "contact", contact.Id, contact.Input.ExternalId, contact.CustomerId,
                contact.SiteId, contact.TeamId, contact.AgentId, batch.Now, events, ct);
        }
        // A contact that arrived late, before a stored one about the same thing, made that one a repeat: the rules on
        // repeat contacts fire for it now, as they would have had the two come in order. Only the rules its being a
        // repeat makes match: the others saw it when it came in.
        foreach (var id in batch.NewRepeats.Distinct())
        {
            if (await RepeatFactsAsync(connection, transaction, context, id, ct) is not { } repeat)
            {
                continue;
            }
            var before = repeat.Facts with { RepeatGapDays = null };
            var newly = active.Where(r => r.Definition.Matches(repeat.Facts) && !r.Definition.Matches(before)).ToList();
            if (newly.Count > 0)
            {
                queued |= await EvaluateAsync(connection, transaction, batch, context, newly, repeat.Facts, "contact", id, repeat.ExternalId, repeat.CustomerId,
                    repeat.SiteId, repeat.TeamId, repeat.AgentId, batch.Now, events, ct);
            }
        }
    }

    /// <summary>The facts of a stored contact, read back from what was stored with it (the rare path of a late contact).</summary>
    private static async Task<(AlertFacts Facts, string ExternalId, long CustomerId, long SiteId, long TeamId, long AgentId)?> RepeatFactsAsync(
        DbConnection connection, DbTransaction transaction, Lookup lookup, long id, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT c.external_id, c.customer_id, c.site_id, c.team_id, c.agent_id, c.sentiment, c.summary, c.signals, c.repeat_gap_ms, " +
            "c.resolved, c.channel, s.code, t.code, a.code, c.queue, c.reason, c.root_cause FROM contacts c " +
            "LEFT JOIN sites s ON s.id = c.site_id LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN agents a ON a.id = c.agent_id WHERE c.id = @id";
        Migrator.AddParameter(command, "@id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        var customerId = reader.GetInt64(1);
        var signals = Text(7);
        var (sentiment, summary, gapMs, resolved) = (reader.IsDBNull(5) ? (double?)null : reader.GetDouble(5), Text(6),
            reader.IsDBNull(8) ? (long?)null : reader.GetInt64(8), reader.IsDBNull(9) ? (bool?)null : reader.GetBoolean(9));
        var (channel, site, team, agent, queue, reason, rootCause) = (reader.GetString(10), Text(11), Text(12), Text(13), Text(14), Text(15), Text(16));
        var (externalId, siteId, teamId, agentId) = (reader.GetString(0), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        await reader.DisposeAsync();
        var facts = AlertFacts.ForContact(sentiment, summary, string.IsNullOrEmpty(signals) ? [] : signals.Split(','), await lookup.TierAsync(customerId, ct), gapMs,
            resolved, channel, site, team, agent, queue, reason, rootCause);
        return (facts, externalId, customerId, siteId, teamId, agentId);
    }

    public void AfterCommit(IngestBatch batch)
    {
        // The events gathered in BeforeCommitAsync are published by the action it registered on the batch.
    }

    /// <summary>Raises or updates the alert a record's matches call for; true when a new alert queued messages.</summary>
    private async Task<bool> EvaluateAsync(DbConnection connection, DbTransaction transaction, IngestBatch batch, Lookup lookup, IReadOnlyList<CompiledRule> active, AlertFacts facts, string kind, long triggerId,
        string triggerExternalId, long customerId, long siteId, long teamId, long agentId, DateTimeOffset now, List<AlertEvent> events, CancellationToken ct)
    {
        // The most urgent rule gives the new alert its owner and deadline (a VIP's 30-minute rule over a 2-hour one
        // written earlier); among equal deadlines, the oldest rule. The others are named in its log.
        var matched = active.Where(r => r.Definition.Matches(facts)).OrderBy(r => r.Definition.Deadline).ToList();
        if (matched.Count == 0)
        {
            return false;
        }
        var trigger = new { kind, externalId = triggerExternalId };
        if (await AbsorbAnyAsync() is not null)
        {
            return false;
        }

        var first = matched[0];
        var definition = first.Definition;
        var owner = await owners.ResolveAsync(connection, transaction, definition.Owner, siteId, teamId, ct);
        var calendar = await calendars.ForSiteAsync(connection, transaction, siteId, ct);
        var due = definition.Clock == AlertRuleDefinition.ClockBusiness ? calendar.Add(now, definition.Deadline) : now + definition.Deadline;
        // ux_alerts_active holds one active alert per customer, rule and site. On PostgreSQL another process (or a
        // reopen) may have made that alert since the absorb above looked; then this record is a match of that alert.
        if (await ScalarAsync(connection, transaction,
            "INSERT INTO alerts (rule_id, customer_id, site_id, team_id, agent_id, trigger_kind, trigger_id, status, owner, clock, created_at, due_at, first_due_at) " +
            "VALUES (@rule, @c, @s, @t, @a, @k, @tr, 'open', @owner, @clock, @now, @due, @due) ON CONFLICT DO NOTHING RETURNING id",
            ct, ("@rule", first.Id), ("@c", customerId), ("@s", siteId), ("@t", teamId), ("@a", agentId), ("@k", kind), ("@tr", triggerId),
            ("@owner", owner), ("@clock", definition.Clock), ("@now", now.ToUnixTimeMilliseconds()), ("@due", due.ToUnixTimeMilliseconds())) is not long id)
        {
            await AbsorbAnyAsync();
            return false;
        }
        await AlertLog.AppendAsync(connection, transaction, id, ActionTypes.Created, "system", now,
            new { trigger, rule = definition.Name, owner, dueAt = due, alsoMatched = matched.Skip(1).Select(r => r.Definition.Name).ToArray() }, ct);
        var baseUrl = configuration["PublicUrl"]?.TrimEnd('/') ?? "";
        await outbox.EmailAsync(connection, transaction, "alert.created", owner, $"New alert #{id}: {definition.Name}",
            $"A customer needs you: {definition.Name}.\nReach them by {due:u}.\n\n{baseUrl}/alerts/{id}", id, now, ct);
        await outbox.WebhooksAsync(connection, transaction, "alert.created", new { alertId = id, rule = definition.Name, owner, dueAt = due, trigger }, siteId, id, now, ct);
        await PublishAsync(connection, transaction, "alert.created", id, events, ct);
        return true;

        // The first matched rule with an active alert for this customer at this site counts the record as one more match.
        async Task<AlertEvent?> AbsorbAnyAsync()
        {
            foreach (var rule in matched)
            {
                if (await AbsorbAsync(batch, lookup, rule, customerId, siteId, ct) is { } absorbed)
                {
                    var log = batch.Statement("alerts.log", AlertLog.InsertSql, "@a", "@t", "@who", "@at", "@d");
                    log.Set(absorbed.AlertId, ActionTypes.MatchAbsorbed, "system", now.ToUnixTimeMilliseconds(), JsonSerializer.Serialize(new { trigger }, JsonSerializerOptions.Web));
                    await log.ExecuteAsync(ct);
                    if (await publisher.InTransactionAsync(connection, transaction, absorbed, ct) is { } local)
                    {
                        events.Add(local);
                    }
                    return absorbed;
                }
            }
            return null;
        }
    }

    /// <summary>
    /// Counts a match against the customer's active alert of this rule, if there is one. Finding, counting and
    /// reading back the alert is one statement, and the event is built from what it returned and what the batch has
    /// already read: a busy rule absorbs a large share of the records, and each statement here holds up the group commit.
    /// Only an alert of the record's own site absorbs it: a customer served by two vendors gets an alert at each, and
    /// neither vendor's log names the other's record.
    /// </summary>
    private static async Task<AlertEvent?> AbsorbAsync(IngestBatch batch, Lookup lookup, CompiledRule rule, long customerId, long recordSiteId, CancellationToken ct)
    {
        long alertId, siteId, dueAtMs;
        string status, owner;
        int level;
        var command = batch.Statement("alerts.absorb",
            "UPDATE alerts SET matches = matches + 1, version = version + 1 WHERE id = (" +
            "SELECT id FROM alerts WHERE customer_id = @c AND rule_id = @r AND site_id = @s AND status IN ('open', 'acknowledged', 'waiting_on_customer') ORDER BY id LIMIT 1) " +
            "RETURNING id, status, owner, site_id, due_at, escalation_level", "@c", "@r", "@s");
        command.Set(customerId, rule.Id, recordSiteId);
        // The first step of an UPDATE … RETURNING makes every change; the row then only reports it.
        using (var row = await command.ReadFirstAsync(ct))
        {
            if (!row.Found)
            {
                return null;
            }
            (alertId, status, owner, siteId, dueAtMs, level) = (row.Int64(0), row.Text(1), row.Text(2), row.Int64(3), row.Int64(4), row.Int32(5));
        }
        return new AlertEvent("alert.updated", alertId, status, owner, siteId, await lookup.CodeAsync("sites", siteId, ct),
            await lookup.CustomerCodeAsync(customerId, ct), rule.Definition.Name, DateTimeOffset.FromUnixTimeMilliseconds(dueAtMs), level, DateTimeOffset.UtcNow);
    }

    private async Task PublishAsync(DbConnection connection, DbTransaction transaction, string type, long alertId, List<AlertEvent> events, CancellationToken ct)
    {
        var alertEvent = await AlertLog.EventAsync(connection, transaction, type, alertId, ct);
        if (alertEvent is not null && await publisher.InTransactionAsync(connection, transaction, alertEvent, ct) is { } local)
        {
            events.Add(local);
        }
    }

    /// <summary>
    /// The first answer a customer gives at the alert's site after their alert was resolved (the follow-up survey's,
    /// which takes the alert's site, or one the company's own survey tool posts) measures whether recovery worked.
    /// An answer at another site is about another site's service, and would show one vendor's record in another's log.
    /// </summary>
    private static async Task RecordFollowUpAsync(DbConnection connection, DbTransaction transaction, StoredResponse response, DateTimeOffset now, CancellationToken ct)
    {
        var at = response.RespondedAtMs;
        var alertId = await ScalarAsync(connection, transaction,
            "SELECT id FROM alerts WHERE customer_id = @c AND site_id = @s AND status IN ('resolved', 'closed') AND followup_score IS NULL AND resolved_at <= @at AND resolved_at >= @since " +
            "ORDER BY resolved_at DESC LIMIT 1",
            ct, ("@c", response.CustomerId), ("@s", response.SiteId), ("@at", at), ("@since", at - (long)TimeSpan.FromDays(30).TotalMilliseconds));
        if (alertId is long id)
        {
            await ExecuteAsync(connection, transaction, "UPDATE alerts SET followup_score = @s, followup_metric = @m, version = version + 1 WHERE id = @id", ct,
                ("@s", response.Input.Score), ("@m", response.Input.Metric), ("@id", id));
            await AlertLog.AppendAsync(connection, transaction, id, ActionTypes.FollowUpAnswered, "system", now,
                new { response = response.Input.ExternalId, metric = response.Input.Metric, score = response.Input.Score, recovered = !MetricScales.IsBottom(response.Input.Metric, response.Input.Score) }, ct);
        }
    }

    private static async Task<AlertFacts> FactsAsync(Lookup lookup, StoredResponse r, CancellationToken ct)
    {
        string? queue = null, reason = null;
        bool? resolved = null;
        long? gap = null;
        if (r.ContactId is { } contactId)
        {
            (queue, reason, resolved, gap) = await lookup.ContactAsync(contactId, ct);
        }
        return AlertFacts.ForResponse(r.Input.Metric, r.Input.Score, r.Findings?.Sentiment, r.Input.Comment,
            r.Findings?.Signals ?? [], await lookup.TierAsync(r.CustomerId, ct), gap, resolved, r.Channel,
            r.SiteCode ?? await lookup.CodeAsync("sites", r.SiteId, ct), r.TeamCode ?? await lookup.CodeAsync("teams", r.TeamId, ct),
            r.AgentCode ?? await lookup.CodeAsync("agents", r.AgentId, ct), queue, reason, r.Findings?.RootCause);
    }

    private static async Task<AlertFacts> FactsAsync(Lookup lookup, StoredContact c, CancellationToken ct) => AlertFacts.ForContact(
        c.Findings?.Sentiment, c.Input.Summary, c.Findings?.Signals ?? [], await lookup.TierAsync(c.CustomerId, ct), c.RepeatGapMs, c.Input.Resolved, c.Input.Channel,
        c.SiteCode, c.Input.Team, c.Input.Agent, c.Input.Queue, c.Input.Reason, c.Findings?.RootCause);

    /// <summary>Reads what the rules need about a record's surroundings, once per batch.</summary>
    private sealed class Lookup(IngestBatch batch)
    {
        private readonly Dictionary<(string, long), string?> _codes = [];
        private readonly Dictionary<long, (string? Tier, string? ExternalId)> _customers = [];

        public async Task<string?> CodeAsync(string table, long id, CancellationToken ct)
        {
            if (id == 0)
            {
                return null;
            }
            if (!_codes.TryGetValue((table, id), out var code))
            {
                var select = batch.Command("alerts.code." + table, $"SELECT code FROM {table} WHERE id = @id", "@id");
                IngestStore.Set(select, id);
                code = await select.ExecuteScalarAsync(ct) as string;
                _codes[(table, id)] = code;
            }
            return code;
        }

        public async Task<string?> TierAsync(long customerId, CancellationToken ct) => (await CustomerAsync(customerId, ct)).Tier;

        public async Task<string?> CustomerCodeAsync(long customerId, CancellationToken ct) => (await CustomerAsync(customerId, ct)).ExternalId;

        private async Task<(string? Tier, string? ExternalId)> CustomerAsync(long customerId, CancellationToken ct)
        {
            if (!_customers.TryGetValue(customerId, out var customer))
            {
                var command = batch.Statement("alerts.customer", "SELECT tier, external_id FROM customers WHERE id = @id", "@id");
                command.Set(customerId);
                using var row = await command.ReadFirstAsync(ct);
                if (row.Found)
                {
                    customer = (row.TextOrNull(0), row.TextOrNull(1));
                }
                _customers[customerId] = customer;
            }
            return customer;
        }

        public async Task<(string? Queue, string? Reason, bool? Resolved, long? Gap)> ContactAsync(long id, CancellationToken ct)
        {
            var command = batch.Statement("alerts.contact", "SELECT queue, reason, resolved, repeat_gap_ms FROM contacts WHERE id = @id", "@id");
            command.Set(id);
            using var row = await command.ReadFirstAsync(ct);
            if (!row.Found)
            {
                return default;
            }
            return (row.TextOrNull(0), row.TextOrNull(1), row.IsNull(2) ? null : row.Bool(2), row.IsNull(3) ? null : row.Int64(3));
        }
    }

    internal static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Migrator.AddParameter(command, name, value);
        }
        var result = await command.ExecuteScalarAsync(ct);
        return result is DBNull ? null : result;
    }

    internal static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            Migrator.AddParameter(command, name, value);
        }
        await command.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>The append-only action log, and the event view of an alert, shared by every path that changes alerts.</summary>
public static class AlertLog
{
    internal const string InsertSql = "INSERT INTO alert_actions (alert_id, type, actor, at, data) VALUES (@a, @t, @who, @at, @d)";

    public static async Task AppendAsync(DbConnection connection, DbTransaction? transaction, long alertId, string type, string actor, DateTimeOffset at, object? data, CancellationToken ct)
    {
        await AlertEngine.ExecuteAsync(connection, transaction, InsertSql, ct,
            ("@a", alertId), ("@t", type), ("@who", actor), ("@at", at.ToUnixTimeMilliseconds()), ("@d", data is null ? null : JsonSerializer.Serialize(data, JsonSerializerOptions.Web)));
    }

    public static async Task<AlertEvent?> EventAsync(DbConnection connection, DbTransaction? transaction, string type, long alertId, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT a.status, a.owner, a.site_id, s.code, c.external_id, r.name, a.due_at, a.escalation_level FROM alerts a " +
            "LEFT JOIN sites s ON s.id = a.site_id LEFT JOIN customers c ON c.id = a.customer_id LEFT JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = @id";
        Migrator.AddParameter(command, "@id", alertId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        return new AlertEvent(type, alertId, reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            reader.GetInt32(7), DateTimeOffset.UtcNow);
    }
}
