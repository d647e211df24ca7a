using System.Globalization;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Insights;
using Closeloop.Live;
using Closeloop.Notifications;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Closeloop.Alerts;

public sealed class AlertActionException : Exception
{
    public AlertActionException(int status, string field, string message) : base(message)
    {
        Status = status;
        Errors = new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] };
    }

    /// <summary>A 400 that names every bad field of the step at once.</summary>
    public AlertActionException(Dictionary<string, string[]> errors)
        : base(errors.Count == 1 ? string.Join(", ", errors.First().Value) : string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")))
    {
        Status = 400;
        Errors = errors;
    }

    public int Status { get; }

    public IReadOnlyDictionary<string, string[]> Errors { get; }
}

/// <summary>
/// Applies a recovery step to an alert: validates the body, lets the alert check the transition, appends the
/// log line, and queues what the step sends (the customer's outcome message, the follow-up survey), all in one
/// transaction, then pushes the change live.
/// </summary>
public sealed class AlertActions(
    TimeProvider time, Outbox outbox, OutboxSignal signal, AlertEventPublisher publisher, SiteCalendars calendars, OwnerResolver owners, IConfiguration configuration,
    Insights.TextInsights insights)
{
    public async Task<Alert> ApplyAsync(CloseloopDb db, Alert alert, JsonElement body, CallerScope caller, CancellationToken ct)
    {
        // Every field is read before the step is applied, and every bad one is named in the same 400.
        var fields = new StepFields(body);
        // "action" is what other help desks call the field; "type" is ours. ("kind" is not: a gesture's kind is a voucher.)
        var named = fields.Text("type") ?? fields.Text("action");
        fields.ThrowIfAny();
        var type = named is null
            ? throw new AlertActionException(400, "type", $"is required: one of {string.Join(", ", ActionTypes.Manual)}")
            : ActionTypes.Canonical(named);
        if (!ActionTypes.Manual.Contains(type))
        {
            throw new AlertActionException(400, "type", $"must be one of {string.Join(", ", ActionTypes.Manual)}");
        }
        var now = time.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var connection = db.Database.GetDbConnection();
        var dbTransaction = transaction.GetDbTransaction();
        var calendar = await calendars.ForSiteAsync(connection, dbTransaction, alert.SiteId, ct);
        var note = fields.Text("note");
        object data = new { note };
        var customer = await db.Customers.FirstAsync(c => c.Id == alert.CustomerId, ct);

        switch (type)
        {
            case ActionTypes.Acknowledge:
                fields.ThrowIfAny();
                alert.Acknowledge(now);
                break;
            case ActionTypes.Note:
                var text = fields.Text("text") ?? note;
                if (text is null && !fields.Errors.ContainsKey("note"))
                {
                    fields.Fail("text", "is required for a note");
                }
                fields.ThrowIfAny();
                alert.Note();
                data = new { text };
                break;
            case ActionTypes.CustomerTold:
                // Told by a person (on the call that reached them, say) rather than by the message sent on resolution.
                var toldOn = fields.Text("channel");
                fields.ThrowIfAny();
                alert.CustomerTold(now);
                data = new { channel = toldOn, note };
                break;
            case ActionTypes.ContactAttempted or ActionTypes.CustomerReached:
                var channel = fields.Text("channel");
                fields.ThrowIfAny();
                if (type == ActionTypes.CustomerReached)
                {
                    alert.CustomerReached(now, calendar);
                }
                else
                {
                    alert.RecordStep(type, now, calendar);
                }
                data = new { channel, note };
                break;
            case ActionTypes.CallbackScheduled:
                var at = fields.Instant("at", "is required: when the callback will be made (ISO 8601)");
                if (at < now)
                {
                    fields.Fail("at", "must be in the future");
                }
                else if (at is { } when && customer.CallbackWindow is { } window && !InWindow(window, when, calendar.TimeZone))
                {
                    fields.Fail("at", $"must be within the customer's preferred callback window {window} ({calendar.TimeZone.Id})");
                }
                fields.ThrowIfAny();
                alert.RecordStep(type, now, calendar);
                data = new { at, note };
                break;
            case ActionTypes.GestureOffered:
                var kind = fields.Text("kind", "is required, for example credit, refund, voucher");
                var value = fields.Number("value", "is required: the gesture's value");
                var currency = fields.Text("currency");
                if (value < 0)
                {
                    fields.Fail("value", "must not be negative");
                }
                fields.ThrowIfAny();
                alert.RecordStep(type, now, calendar);
                var limit = GestureLimit(caller.Role);
                data = new { kind, value, currency, note, limit, pendingApproval = value > limit };
                break;
            case ActionTypes.GestureApproved:
                fields.ThrowIfAny();
                var pending = await db.AlertActions.AsNoTracking().Where(x => x.AlertId == alert.Id && x.Type == ActionTypes.GestureOffered).OrderByDescending(x => x.Id).FirstOrDefaultAsync(ct)
                    ?? throw new AlertTransitionException("There is no gesture to approve.");
                var offered = JsonDocument.Parse(pending.Data ?? "{}").RootElement;
                var offeredValue = offered.TryGetProperty("value", out var v) ? v.GetDouble() : 0;
                if (offeredValue > GestureLimit(caller.Role))
                {
                    throw new AlertActionException(403, "type", $"a {caller.Role} may approve gestures up to {GestureLimit(caller.Role)}");
                }
                alert.Note();
                data = new { gesture = pending.Id, value = offeredValue, note };
                break;
            case ActionTypes.WaitOnCustomer:
                fields.ThrowIfAny();
                alert.WaitOnCustomer(now, calendar);
                break;
            case ActionTypes.RootCauseTagged:
                var tagged = await RootCauseAsync(db, fields, ct);
                fields.ThrowIfAny();
                alert.TagRootCause(tagged!);
                data = new { rootCause = tagged, note };
                break;
            case ActionTypes.Resolve:
                var cause = await RootCauseAsync(db, fields, ct);
                var outcome = fields.Text("outcome", "is required: what was done for the customer");
                fields.ThrowIfAny();
                alert.Resolve(cause!, outcome!, now);
                data = new { rootCause = cause, outcome, note };
                break;
            case ActionTypes.Close:
                fields.ThrowIfAny();
                alert.Close(now);
                break;
            case ActionTypes.Reopen:
                fields.ThrowIfAny();
                var rule = await AlertRuleCache.LoadAsync(db, alert.RuleId, ct);
                var deadline = rule?.Deadline ?? TimeSpan.FromHours(2);
                // The same test the ingest uses to absorb a match: an active alert of this customer and rule at this site.
                var active = await db.Alerts.AsNoTracking()
                    .Where(a => a.Id != alert.Id && a.CustomerId == alert.CustomerId && a.RuleId == alert.RuleId && a.SiteId == alert.SiteId && AlertStatus.Active.Contains(a.Status))
                    .OrderBy(a => a.Id).Select(a => (long?)a.Id).FirstOrDefaultAsync(ct);
                alert.Reopen(now, alert.Clock == AlertRuleDefinition.ClockBusiness ? calendar.Add(now, deadline) : now + deadline, active);
                data = new { note, dueAt = alert.DueAt };
                break;
            case ActionTypes.Reassign:
                var requested = fields.Text("owner", "is required: an e-mail address or pool:NAME")?.ToLowerInvariant();
                fields.ThrowIfAny();
                var owner = await ReassignTargetAsync(db, connection, dbTransaction, alert, requested!, ct);
                var previous = alert.Owner;
                alert.Reassign(owner);
                data = new { from = previous, to = owner, note };
                await outbox.EmailAsync(connection, dbTransaction, "alert.assigned", owner, $"Alert #{alert.Id} is now yours", $"{caller.Actor} gave you alert #{alert.Id}.", alert.Id, now, ct);
                break;
        }

        db.AlertActions.Add(new AlertAction { AlertId = alert.Id, Type = type, Actor = caller.Actor, At = now, Data = JsonSerializer.Serialize(data, JsonSerializerOptions.Web) });
        if (type == ActionTypes.Resolve)
        {
            await CloseTheLoopAsync(db, connection, dbTransaction, alert, customer, now, ct);
        }
        await outbox.WebhooksAsync(connection, dbTransaction, $"alert.{type}", new { alertId = alert.Id, status = alert.Status, owner = alert.Owner, actor = caller.Actor, data },
            alert.SiteId, alert.Id, now, ct);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            throw new AlertTransitionException("The alert was changed by someone else at the same time; reload it and try again.");
        }
        catch (DbUpdateException) when (type == ActionTypes.Reopen)
        {
            // ux_alerts_active: between the test above and this write, a new record raised the same alert (PostgreSQL
            // only; on SQLite the transaction holds the write lock from its start).
            throw new AlertTransitionException("Another alert about the same customer and rule at this site became active meanwhile; record the new steps there instead of reopening this one.");
        }
        // Read while the transaction's connection is still open; publish once it has committed.
        var alertEvent = await AlertLog.EventAsync(connection, dbTransaction, "alert.updated", alert.Id, ct);
        await transaction.CommitAsync(ct);
        signal.Pending();
        if (alertEvent is not null)
        {
            await publisher.AfterCommitAsync(db, alertEvent, ct);
        }
        if (type is ActionTypes.Resolve or ActionTypes.RootCauseTagged && alert.RootCause is { } confirmed)
        {
            await ConfirmCauseAsync(db, alert, confirmed, now, ct);
        }
        return alert;
    }

    /// <summary>
    /// Tells the customer what was done, on the channel they prefer, and schedules the follow-up survey that
    /// measures whether the recovery worked. Consent and do-not-contact are respected and the refusal is logged.
    /// </summary>
    private async Task CloseTheLoopAsync(CloseloopDb db, System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, Alert alert,
        Customers.Customer customer, DateTimeOffset now, CancellationToken ct)
    {
        if (customer.DoNotContact || !customer.Consent)
        {
            db.AlertActions.Add(new AlertAction { AlertId = alert.Id, Type = "customer_not_told", Actor = "system", At = now,
                Data = JsonSerializer.Serialize(new { reason = customer.DoNotContact ? "do-not-contact" : "no consent" }, JsonSerializerOptions.Web) });
            return;
        }
        var name = customer.Name ?? "there";
        var message = $"Hello {name},\n\nThank you for telling us about your experience. We looked into it, and this is what we did: {alert.Outcome}\n\n" +
            "If anything is still not right, just reply to this message.\n";
        var channel = PreferredChannel(customer);
        if (channel is null)
        {
            db.AlertActions.Add(new AlertAction { AlertId = alert.Id, Type = "customer_not_told", Actor = "system", At = now,
                Data = JsonSerializer.Serialize(new { reason = "no contact point" }, JsonSerializerOptions.Web) });
            return;
        }
        if (!await SendToCustomerAsync(connection, transaction, alert, customer, channel.Value, "customer.outcome", "What we did about your feedback", message, now, now, ct))
        {
            // Said in the log rather than left silent: the owner can tell the customer on a call and record customer_told.
            db.AlertActions.Add(new AlertAction { AlertId = alert.Id, Type = "customer_not_told", Actor = "system", At = now,
                Data = JsonSerializer.Serialize(new { reason = $"no webhook subscription takes customer.outcome to send {channel.Value.Channel} messages", channel = channel.Value.Channel }, JsonSerializerOptions.Web) });
            return;
        }

        var delay = AlertRuleDefinition.TryDuration(configuration["Alerts:FollowUpDelay"] ?? "P2D", out var d) ? d : TimeSpan.FromDays(2);
        var token = Surveys.SurveyInvitation.NewToken();
        var metric = await db.Responses.Where(r => alert.TriggerKind == "response" && r.Id == alert.TriggerId).Select(r => r.Metric).FirstOrDefaultAsync(ct) ?? "csat";
        db.SurveyInvitations.Add(new Surveys.SurveyInvitation
        {
            Token = token, CustomerId = customer.Id, AlertId = alert.Id, Metric = metric, Channel = channel.Value.Channel,
            CreatedAt = now, ExpiresAt = now + delay + TimeSpan.FromDays(14),
        });
        var link = $"{configuration["PublicUrl"]?.TrimEnd('/')}/s/{token}";
        await SendToCustomerAsync(connection, transaction, alert, customer, channel.Value, "customer.followup_survey", "How did we do?",
            $"Hello {name},\n\nA few days ago we followed up on your feedback. Did we put it right? Tell us in one click: {link}\n", now, now + delay, ct);
    }

    /// <summary>Queues the message; false when nothing can carry it (no webhook subscription for an SMS or social message).</summary>
    private async Task<bool> SendToCustomerAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, Alert alert, Customers.Customer customer,
        (string Channel, string Address) channel, string eventName, string subject, string message, DateTimeOffset now, DateTimeOffset notBefore, CancellationToken ct)
    {
        if (channel.Channel == "email")
        {
            await outbox.EmailAsync(connection, transaction, eventName, channel.Address, subject, message, alert.Id, now, ct, notBefore);
            return true;
        }
        // SMS and social messages leave through the outbound webhook, for the gateway the company uses.
        return await outbox.WebhooksAsync(connection, transaction, eventName,
            new { alertId = alert.Id, customer = customer.ExternalId, channel = channel.Channel, to = channel.Address, text = message }, alert.SiteId, alert.Id, now, ct, notBefore) > 0;
    }

    /// <summary>
    /// A cause confirmed by a person replaces the predicted one on the triggering record, and the classifier
    /// learns from the record's text, so the next similar comment is classified the way the supervisor said.
    /// </summary>
    private async Task ConfirmCauseAsync(CloseloopDb db, Alert alert, string cause, DateTimeOffset now, CancellationToken ct)
    {
        string? text;
        if (alert.TriggerKind == "response")
        {
            var before = await db.Responses.Where(r => r.Id == alert.TriggerId)
                .Select(r => new { r.RootCause, r.Comment, Facts = new SurveyResponseCauseFacts(r.RespondedAt, r.SiteId, r.TeamId, r.AgentId, r.Channel, r.Metric, r.Score) })
                .FirstOrDefaultAsync(ct);
            text = before?.Comment;
            if (before?.RootCause == cause)
            {
                await db.Responses.Where(r => r.Id == alert.TriggerId).ExecuteUpdateAsync(u => u.SetProperty(r => r.RootCauseConfidence, 1.0), ct);
            }
            // Only the statement that changed the cause moves the response's count in the cause rollup.
            else if (before is not null && await db.Responses.Where(r => r.Id == alert.TriggerId && r.RootCause == before.RootCause)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.RootCause, cause).SetProperty(r => r.RootCauseConfidence, 1.0), ct) == 1)
            {
                await CauseRollup.MoveAsync(db, before.Facts, before.RootCause, cause, ct);
            }
        }
        else
        {
            await db.Contacts.Where(r => r.Id == alert.TriggerId).ExecuteUpdateAsync(u => u.SetProperty(r => r.RootCause, cause).SetProperty(r => r.RootCauseConfidence, 1.0), ct);
            text = await db.Contacts.Where(r => r.Id == alert.TriggerId).Select(r => r.Summary).FirstOrDefaultAsync(ct);
        }
        if (!string.IsNullOrWhiteSpace(text))
        {
            await insights.LearnAsync(db, [(text, cause)], "alert", now, ct);
        }
    }

    internal static (string Channel, string Address)? PreferredChannel(Customers.Customer customer)
    {
        var options = new List<(string, string)>();
        if (customer.Email is { } email)
        {
            options.Add(("email", email));
        }
        if (customer.Phone is { } phone)
        {
            options.Add(("sms", phone));
        }
        if (customer.Handle is { } handle)
        {
            options.Add(("social", handle));
        }
        if (options.Count == 0)
        {
            return null;
        }
        var preferred = customer.PreferredChannel switch
        {
            "phone" or "sms" or "ivr" => "sms",
            "social" => "social",
            "email" => "email",
            _ => null,
        };
        return options.FirstOrDefault(o => o.Item1 == preferred) is { Item1: not null } match ? match : options[0];
    }

    private double GestureLimit(string role) =>
        configuration.GetValue<double?>($"Alerts:GestureLimits:{role}") ?? role switch
        {
            Roles.Admin => double.MaxValue,
            Roles.SiteManager => 500,
            Roles.Supervisor => 200,
            Roles.Recovery => 100,
            _ => 25,
        };

    /// <summary>The code of a cause from the taxonomy, or null with the problem noted in <paramref name="fields"/>.</summary>
    private static async Task<string?> RootCauseAsync(CloseloopDb db, StepFields fields, CancellationToken ct)
    {
        var code = fields.Text("rootCause", "is required: a code from GET /api/v1/root-causes")?.ToLowerInvariant();
        if (code is not null && !await db.RootCauses.AnyAsync(r => r.Code == code, ct))
        {
            fields.Fail("rootCause", $"'{code}' is not in the root-cause taxonomy");
            return null;
        }
        return code;
    }

    /// <summary>
    /// Who a reassigned alert goes to: a person who may work it, or the least-loaded such member of a pool. An owner
    /// who does not exist or cannot open the alert (another site, a read-only role, a disabled account) would leave the
    /// customer with nobody, so it is refused with a 400 on <c>owner</c>.
    /// </summary>
    private async Task<string> ReassignTargetAsync(CloseloopDb db, System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, Alert alert,
        string requested, CancellationToken ct)
    {
        if (requested.StartsWith("pool:", StringComparison.Ordinal))
        {
            var pool = requested[5..].Trim();
            if (!await db.PoolMembers.AnyAsync(p => p.Pool == pool, ct))
            {
                throw new AlertActionException(400, "owner", $"there is no pool '{pool}' (PUT /api/v1/pools/{pool} with its members creates it)");
            }
            return await owners.FindAsync(connection, transaction, new OwnerSpec("pool", pool), alert.SiteId, alert.TeamId, ct)
                ?? throw new AlertActionException(400, "owner", $"no member of pool '{pool}' may work alerts of this site");
        }
        var email = requested.StartsWith("user:", StringComparison.Ordinal) ? requested[5..].Trim() : requested;
        if (!Outbox.IsEmail(email))
        {
            throw new AlertActionException(400, "owner", "must be an e-mail address or pool:NAME");
        }
        // One answer for a person who does not exist, works at another site, is disabled or has a role that does not
        // work alerts: a vendor must not learn from it who works elsewhere or what a company-wide account may do.
        var user = await db.Users.AsNoTracking().Where(u => u.Email == email).Select(u => new { u.Role, u.SiteId, u.Disabled }).FirstOrDefaultAsync(ct);
        if (user is null || !OwnerResolver.MayOwn(user.Role, user.SiteId, user.Disabled, alert.SiteId))
        {
            throw new AlertActionException(400, "owner", $"there is no active user {email} who may work alerts at this alert's site");
        }
        return email;
    }

    private static bool InWindow(string window, DateTimeOffset at, TimeZoneInfo zone)
    {
        var parts = window.Split('-');
        if (parts.Length != 2 || !TimeOnly.TryParse(parts[0], CultureInfo.InvariantCulture, out var from) || !TimeOnly.TryParse(parts[1], CultureInfo.InvariantCulture, out var to))
        {
            return true;
        }
        var local = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        return from <= to ? local >= from && local <= to : local >= from || local <= to;
    }

    /// <summary>Reads the fields of one step and gathers what is wrong with them, so that one 400 names every bad field.</summary>
    private sealed class StepFields(JsonElement body)
    {
        public Dictionary<string, string[]> Errors { get; } = new(StringComparer.Ordinal);

        public void Fail(string name, string message) => Errors.TryAdd(name, [message]);

        public void ThrowIfAny()
        {
            if (Errors.Count > 0)
            {
                throw new AlertActionException(Errors);
            }
        }

        /// <summary>A non-empty string, or null; <paramref name="required"/> is the complaint when it is missing.</summary>
        public string? Text(string name, string? required = null)
        {
            if (!body.TryGetProperty(name, out var value) || value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            {
                Missing(name, required);
                return null;
            }
            if (value.ValueKind == JsonValueKind.String && value.GetString()!.Trim() is { Length: > 0 } text)
            {
                return text;
            }
            Fail(name, "must be a non-empty string");
            return null;
        }

        public double? Number(string name, string? required = null)
        {
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                Missing(name, required);
                return null;
            }
            if (value.ValueKind == JsonValueKind.Number)
            {
                return value.GetDouble();
            }
            Fail(name, "must be a number");
            return null;
        }

        public DateTimeOffset? Instant(string name, string? required = null)
        {
            var text = Text(name, required);
            if (text is null)
            {
                return null;
            }
            if (Web.IsoTime.TryParse(text, out var at))
            {
                return at;
            }
            Fail(name, "must be an ISO 8601 date and time");
            return null;
        }

        private void Missing(string name, string? required)
        {
            if (required is not null)
            {
                Fail(name, required);
            }
        }
    }
}
