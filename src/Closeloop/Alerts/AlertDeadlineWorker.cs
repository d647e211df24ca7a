using Closeloop.Data;
using Closeloop.Live;
using Closeloop.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Closeloop.Alerts;

/// <summary>
/// Warns owners before a deadline and escalates when it passes, level by level down the rule's chain. Time comes
/// from the injected TimeProvider, so tests move the clock and call <see cref="SweepAsync"/>. Several processes can
/// sweep at once: each change carries the alert's version, so only one of them escalates a given alert.
/// </summary>
public sealed class AlertDeadlineWorker(
    IServiceScopeFactory scopes, TimeProvider time, Outbox outbox, OutboxSignal signal, AlertEventPublisher publisher, SiteCalendars calendars,
    OwnerResolver owners, IConfiguration configuration, ILogger<AlertDeadlineWorker> logger) : BackgroundService
{
    private static readonly TimeSpan MaxLead = TimeSpan.FromDays(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Alert deadline sweep failed");
            }
            // Deadlines are checked every second of real time; the instant compared is the TimeProvider's.
            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
        }
    }

    /// <summary>Warns and escalates every alert whose time has come; returns how many it changed.</summary>
    public async Task<int> SweepAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var horizon = now + MaxLead;
        var candidates = await db.Alerts.AsNoTracking()
            .Where(a => (a.Status == AlertStatus.Open || a.Status == AlertStatus.Acknowledged) && a.ReachedAt == null && a.DueAt <= horizon
                && (a.WarnedLevel < a.EscalationLevel || a.BreachNotifiedLevel < a.EscalationLevel))
            .OrderBy(a => a.DueAt).Select(a => a.Id).Take(500).ToListAsync(ct);
        var changed = 0;
        var definitions = new Dictionary<long, AlertRuleDefinition?>();
        foreach (var id in candidates)
        {
            db.ChangeTracker.Clear();
            var alert = await db.Alerts.FirstAsync(a => a.Id == id, ct);
            if (!definitions.TryGetValue(alert.RuleId, out var rule))
            {
                rule = definitions[alert.RuleId] = await AlertRuleCache.LoadAsync(db, alert.RuleId, ct);
            }
            try
            {
                if (await ProcessAsync(db, alert, rule, now, ct))
                {
                    changed++;
                }
            }
            catch (DbUpdateConcurrencyException)
            {
                // Another process (or a person) changed this alert first; the next sweep looks again.
            }
        }
        return changed;
    }

    private async Task<bool> ProcessAsync(CloseloopDb db, Alert alert, AlertRuleDefinition? rule, DateTimeOffset now, CancellationToken ct)
    {
        var defaultLead = AlertRuleDefinition.TryDuration(configuration["Alerts:WarnBefore"] ?? "PT30M", out var configured) ? configured : TimeSpan.FromMinutes(30);
        var levelDeadline = alert.EscalationLevel == 0 ? rule?.Deadline : rule?.Escalation.ElementAtOrDefault(alert.EscalationLevel - 1)?.After;
        // Without a stated lead time, warn at a quarter of the level's deadline, at most 30 minutes before it.
        var lead = rule?.WarnBefore ?? (levelDeadline is { } span ? TimeSpan.FromTicks(Math.Min(defaultLead.Ticks, span.Ticks / 4)) : defaultLead);
        string? type = null;
        object? data = null;
        string? notifyTo = null;
        string? subject = null;

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var connection = db.Database.GetDbConnection();
        var dbTransaction = transaction.GetDbTransaction();
        if (alert.IsOverdue(now) && alert.BreachNotifiedLevel < alert.EscalationLevel + 1)
        {
            var step = rule?.Escalation.ElementAtOrDefault(alert.EscalationLevel);
            if (step is not null)
            {
                var from = alert.Owner;
                var owner = await owners.FindAsync(connection, dbTransaction, step.To, alert.SiteId, alert.TeamId, ct);
                var calendar = await calendars.ForSiteAsync(connection, dbTransaction, alert.SiteId, ct);
                var due = alert.Clock == AlertRuleDefinition.ClockBusiness ? calendar.Add(now, step.After) : now + step.After;
                alert.Escalate(owner, due);
                type = ActionTypes.Escalated;
                notifyTo = alert.Owner;
                if (owner is null)
                {
                    // Said in the log, so an admin reading the alert sees the gap in the chain and can fill it.
                    var vacant = step.To.Name is null ? step.To.Kind : $"{step.To.Kind}:{step.To.Name}";
                    var gap = step.To.Kind == "pool" ? $"no member of pool {step.To.Name} may work this alert"
                        : $"nobody is configured as {step.To.Kind}{(step.To.Kind is "teamSupervisor" or "siteManager" ? " or above it" : "")} for this alert's site";
                    data = new { level = alert.EscalationLevel, from, to = alert.Owner, dueAt = due, vacant, note = $"{gap}, so the alert stays with its owner" };
                    subject = $"Alert #{alert.Id} missed its deadline and stays yours: nobody is configured as {vacant}";
                }
                else
                {
                    data = new { level = alert.EscalationLevel, from, to = owner, dueAt = due };
                    subject = $"Escalated to you: alert #{alert.Id} missed its deadline";
                }
            }
            else
            {
                // The end of the chain: say once that the last deadline passed.
                alert.BreachNotifiedLevel = alert.EscalationLevel + 1;
                alert.Version++;
                type = "breached";
                data = new { level = alert.EscalationLevel, dueAt = alert.DueAt };
                notifyTo = alert.Owner;
                subject = $"Alert #{alert.Id} is past its last deadline";
            }
        }
        else if (alert.NeedsWarning(now, lead))
        {
            alert.MarkWarned();
            type = ActionTypes.Warned;
            data = new { dueAt = alert.DueAt, lead = AlertRuleDefinition.FormatDuration(lead) };
            notifyTo = alert.Owner;
            subject = $"Alert #{alert.Id} is due at {alert.DueAt:u}";
        }
        else
        {
            return false;
        }

        db.AlertActions.Add(new AlertAction { AlertId = alert.Id, Type = type, Actor = "system", At = now, Data = System.Text.Json.JsonSerializer.Serialize(data, System.Text.Json.JsonSerializerOptions.Web) });
        await outbox.EmailAsync(connection, dbTransaction, $"alert.{type}", notifyTo, subject, $"{subject}.\n\n{configuration["PublicUrl"]?.TrimEnd('/')}/alerts/{alert.Id}", alert.Id, now, ct);
        await outbox.WebhooksAsync(connection, dbTransaction, $"alert.{type}", new { alertId = alert.Id, owner = alert.Owner, data }, alert.SiteId, alert.Id, now, ct);
        await db.SaveChangesAsync(ct);
        var alertEvent = await AlertLog.EventAsync(connection, dbTransaction, $"alert.{type}", alert.Id, ct);
        await transaction.CommitAsync(ct);
        signal.Pending();
        if (alertEvent is not null)
        {
            await publisher.AfterCommitAsync(db, alertEvent, ct);
        }
        return true;
    }
}
