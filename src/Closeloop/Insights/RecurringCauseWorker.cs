using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Closeloop.Data;
using Closeloop.Live;
using Closeloop.Notifications;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Closeloop.Insights;

public sealed record CauseSite(string Site, long Count);

public sealed record CauseEvidence(IReadOnlyList<long> Daily, IReadOnlyList<CauseSite> Sites, IReadOnlyList<string> Examples);

/// <summary>
/// Watches every cause's rate and raises a cause alert to the owning department when it rises above its normal
/// level (<see cref="SpikeDetector"/>), with the evidence, through the outbox (e-mail and webhooks) and the live push.
/// It also sends each department its digest once per period. Time comes from the injected TimeProvider, so tests
/// move the clock and call <see cref="DetectAsync"/> and <see cref="SendDigestsAsync"/>. Several processes may run
/// it at once: the unique keys (cause and day; department and period) let only one of them raise or send.
/// </summary>
public sealed partial class RecurringCauseWorker(
    IServiceScopeFactory scopes, TimeProvider time, Outbox outbox, OutboxSignal signal, AlertEventPublisher publisher, IConfiguration configuration,
    ILogger<RecurringCauseWorker> logger) : BackgroundService
{
    private const long DayMs = 86_400_000;

    /// <summary>Digest periods start on Mondays (1970-01-05 was one), 00:00 UTC.</summary>
    private static readonly DateTimeOffset PeriodOrigin = new(1970, 1, 5, 0, 0, 0, TimeSpan.Zero);

    public SpikeSettings Settings => configuration.GetSection("Insights:Spikes").Get<SpikeSettings>() ?? new SpikeSettings();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = Duration("Insights:SpikeCheckEvery", TimeSpan.FromMinutes(5));
        var lastCheck = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A cause's rate is a daily aggregate: checking it every few minutes finds a rise within minutes
                // of the record that makes it significant, without scanning the window on every record.
                if (time.GetUtcNow() - lastCheck >= every)
                {
                    lastCheck = time.GetUtcNow();
                    await DetectAsync(stoppingToken);
                }
                await SendDigestsAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Recurring-cause sweep failed");
            }
            await Task.Delay(TimeSpan.FromSeconds(30), stoppingToken);
        }
    }

    /// <summary>Judges every cause's last 24 hours against its baseline and raises the cause alerts that are due.</summary>
    public async Task<IReadOnlyList<CauseAlert>> DetectAsync(CancellationToken ct)
    {
        var settings = Settings;
        var now = time.GetUtcNow();
        var end = now.ToUnixTimeMilliseconds();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var raised = new List<CauseAlert>();

        // Windows before the first record would count as zeros and drag the baseline down, so only the windows
        // the data covers make the history, and a cause is not judged until there is a week of it.
        var firstDay = await ScalarAsync(db, "SELECT MIN(d) FROM (SELECT MIN(day) AS d FROM response_rollups UNION ALL SELECT MIN(day) FROM issue_rollups) x", [], ct);
        if (firstDay is null)
        {
            return raised;
        }
        var covered = (int)Math.Min(settings.HistoryWindows, (end - firstDay.Value * DayMs) / DayMs - 1);
        if (covered < settings.MinHistoryWindows)
        {
            return raised;
        }
        var start = end - (covered + 1) * DayMs;
        var counts = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (table, at) in new[] { ("responses", "responded_at"), ("contacts", "occurred_at") })
        {
            await ReadAsync(db, $"SELECT root_cause, (@end - 1 - {at}) / {DayMs}, COUNT(*) FROM {table} WHERE root_cause IS NOT NULL AND {at} >= @start AND {at} < @end GROUP BY 1, 2",
                [("@start", start), ("@end", end)], r =>
                {
                    var series = counts.TryGetValue(r.GetString(0), out var s) ? s : counts[r.GetString(0)] = new long[covered + 1];
                    // Index 0 is the oldest window, the last index the 24 hours ending now.
                    series[covered - (int)r.GetInt64(1)] += r.GetInt64(2);
                }, ct);
        }

        var causes = await db.RootCauses.AsNoTracking().ToDictionaryAsync(c => c.Code, ct);
        var day = DateTimeOffset.FromUnixTimeMilliseconds(end - end % DayMs);
        foreach (var (cause, series) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var verdict = SpikeDetector.Evaluate(series.AsSpan(0, covered), series[covered], settings);
            if (!verdict.Rise || !causes.TryGetValue(cause, out var known) || await db.CauseAlerts.AnyAsync(a => a.Cause == cause && a.Day == day, ct))
            {
                continue;
            }
            var evidence = await EvidenceAsync(db, cause, end - DayMs, end, series, ct);
            var alert = new CauseAlert
            {
                Cause = cause, Department = known.Department, Day = day, WindowStart = DateTimeOffset.FromUnixTimeMilliseconds(end - DayMs), WindowEnd = now,
                Observed = verdict.Observed, Expected = Math.Round(verdict.Expected, 3), PValue = verdict.PValue,
                Evidence = JsonSerializer.Serialize(evidence, JsonSerializerOptions.Web),
                ProposedBroadcast = $"Known issue: more customers than usual are raising \"{known.Name}\" ({verdict.Observed} in the last 24 hours, about " +
                    $"{verdict.Expected.ToString("0.#", CultureInfo.InvariantCulture)} is normal). Acknowledge it, apologise, and tag each contact with {cause}.",
                CreatedAt = now, UpdatedAt = now,
            };
            if (await RaiseAsync(db, alert, known.Name, evidence, now, ct))
            {
                raised.Add(alert);
            }
        }
        return raised;
    }

    private async Task<bool> RaiseAsync(CloseloopDb db, CauseAlert alert, string causeName, CauseEvidence evidence, DateTimeOffset now, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var connection = db.Database.GetDbConnection();
        var dbTransaction = transaction.GetDbTransaction();
        // Looked for first, inside the transaction (on SQLite it holds the write lock), so the usual case of a run
        // that finds today's alert already raised does not go through a failed insert that EF Core logs as an error.
        if (await db.CauseAlerts.AnyAsync(a => a.Cause == alert.Cause && a.Day == alert.Day, ct))
        {
            await transaction.RollbackAsync(ct);
            return false;
        }
        db.CauseAlerts.Add(alert);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another process raised it for this cause today first.
            await transaction.RollbackAsync(ct);
            db.ChangeTracker.Clear();
            return false;
        }
        var body = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"\"{causeName}\" ({alert.Cause}) is rising: {alert.Observed} in the last 24 hours, where about {alert.Expected:0.#} is normal ")
            .Append(CultureInfo.InvariantCulture, $"(Poisson p = {alert.PValue:0.###e+0}).\n\nSites affected:\n")
            .AppendJoin("", evidence.Sites.Select(s => $"  {s.Site}: {s.Count}\n"))
            .Append("\nWhat customers wrote (contact details masked):\n")
            .AppendJoin("", evidence.Examples.Select(e => $"  - {e}\n"))
            .Append(CultureInfo.InvariantCulture, $"\nProposed broadcast to agents:\n  {alert.ProposedBroadcast}\n\nCause alert #{alert.Id}: /api/v1/cause-alerts/{alert.Id}\n")
            .ToString();
        foreach (var to in await RecipientsAsync(db, alert.Department, ct))
        {
            await outbox.EmailAsync(connection, dbTransaction, "cause_alert.raised", to, $"Rising cause: {causeName}", body, null, now, ct);
        }
        await outbox.WebhooksAsync(connection, dbTransaction, "cause_alert.raised", CauseAlertView.From(alert, causeName), 0, null, now, ct);
        var liveEvent = await publisher.InTransactionAsync(connection, dbTransaction, LiveEvent(alert, "cause_alert.raised", now), ct);
        await transaction.CommitAsync(ct);
        signal.Pending();
        if (liveEvent is not null)
        {
            publisher.PublishLocal(liveEvent);
        }
        logger.LogInformation("Cause alert {Id}: {Cause} rose to {Observed} (expected {Expected}, p={P})", alert.Id, alert.Cause, alert.Observed, alert.Expected, alert.PValue);
        return true;
    }

    /// <summary>Cause alerts travel on the alert hub with a type of their own; site 0 means company-wide.</summary>
    internal static AlertEvent LiveEvent(CauseAlert alert, string type, DateTimeOffset now) =>
        new(type, alert.Id, alert.Status, "department:" + alert.Department, 0, null, null, alert.Cause, alert.WindowEnd, 0, now);

    internal static async Task<CauseEvidence> EvidenceAsync(CloseloopDb db, string cause, long from, long to, long[] daily, CancellationToken ct)
    {
        var sites = new Dictionary<long, long>();
        var examples = new List<(long At, string Text)>();
        foreach (var (table, at, text) in new[] { ("responses", "responded_at", "comment"), ("contacts", "occurred_at", "summary") })
        {
            var parameters = new (string, object?)[] { ("@c", cause), ("@a", from), ("@b", to) };
            await ReadAsync(db, $"SELECT site_id, COUNT(*) FROM {table} WHERE root_cause = @c AND {at} >= @a AND {at} < @b GROUP BY site_id", parameters,
                r => sites[r.GetInt64(0)] = sites.GetValueOrDefault(r.GetInt64(0)) + r.GetInt64(1), ct);
            await ReadAsync(db, $"SELECT {at}, {text} FROM {table} WHERE root_cause = @c AND {at} >= @a AND {at} < @b AND {text} IS NOT NULL ORDER BY {at} DESC LIMIT 5", parameters,
                r => examples.Add((r.GetInt64(0), r.GetString(1))), ct);
        }
        var codes = await db.Sites.AsNoTracking().ToDictionaryAsync(s => s.Id, s => s.Code, ct);
        return new CauseEvidence(daily,
            sites.OrderByDescending(s => s.Value).Select(s => new CauseSite(codes.GetValueOrDefault(s.Key, "unknown"), s.Value)).ToList(),
            examples.OrderByDescending(e => e.At).Take(5).Select(e => Mask(e.Text)).ToList());
    }

    /// <summary>
    /// Departments see aggregated evidence with customer details masked (PRODUCT.md), so e-mail addresses and
    /// phone or account numbers in a comment are replaced before it leaves the record it belongs to.
    /// </summary>
    /// <remarks>
    /// Any run of digits (with the spaces, dashes, dots, slashes and brackets that group them) holding three digits
    /// or more is masked: phone, card and account numbers, but also a PIN, a postcode or a date of birth. A code
    /// that mixes letters with two digits or more ("GB82", "AB123456") is masked too. Short numbers ("3 calls",
    /// "40 minutes") stay: they are the evidence, not the person.
    /// </remarks>
    public static string Mask(string text)
    {
        var masked = EmailPattern().Replace(text, "[email]");
        // UK and Canadian postcodes hold one digit a part ("NW1 6XE", "K1A 0B1"), which the code rule would miss.
        masked = PostcodePattern().Replace(masked, "[postcode]");
        // Digits of every script: \d matches Arabic-Indic and full-width digits, and so must the count.
        masked = NumberPattern().Replace(masked, m => m.Value.Count(char.IsDigit) >= 3 ? "[number]" : m.Value);
        masked = CodePattern().Replace(masked, m => m.Value.Count(char.IsDigit) >= 2 ? "[code]" : m.Value);
        return masked.Length > 500 ? masked[..500] + "…" : masked;
    }

    [GeneratedRegex(@"[\w.+-]+@[\w-]+(\.[\w-]+)*")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"\b(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b", RegexOptions.IgnoreCase)]
    private static partial Regex PostcodePattern();

    [GeneratedRegex(@"\+?\(?\d[\d \-/.()]*\d")]
    private static partial Regex NumberPattern();

    [GeneratedRegex(@"\b(?=\w*\d)(?=\w*[A-Za-z])\w{3,}\b")]
    private static partial Regex CodePattern();

    /// <summary>The department's people, or the admins when the department has nobody yet, so a rise is never unseen.</summary>
    internal static async Task<List<string>> RecipientsAsync(CloseloopDb db, string department, CancellationToken ct)
    {
        var people = await db.Users.AsNoTracking().Where(u => !u.Disabled && u.Role == Roles.Department && u.Department == department).Select(u => u.Email).ToListAsync(ct);
        return people.Count > 0 ? people : await db.Users.AsNoTracking().Where(u => !u.Disabled && u.Role == Roles.Admin).Select(u => u.Email).ToListAsync(ct);
    }

    /// <summary>The period a digest covers now: the last complete one (a week by default, Monday to Monday, UTC).</summary>
    public (DateTimeOffset Start, DateTimeOffset End) DigestPeriod(DateTimeOffset now)
    {
        var every = Duration("Insights:DigestEvery", TimeSpan.FromDays(7));
        var periods = (now - PeriodOrigin).Ticks / every.Ticks;
        var end = PeriodOrigin + TimeSpan.FromTicks(periods * every.Ticks);
        return (end - every, end);
    }

    /// <summary>Sends each department with people its digest for the last complete period, once.</summary>
    public async Task<int> SendDigestsAsync(CancellationToken ct)
    {
        if (configuration["Insights:DigestEvery"] is "off" or "none")
        {
            return 0;
        }
        var now = time.GetUtcNow();
        var (start, end) = DigestPeriod(now);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var departments = await db.Users.AsNoTracking().Where(u => !u.Disabled && u.Role == Roles.Department && u.Department != null)
            .Select(u => u.Department!).Distinct().ToListAsync(ct);
        var sent = await db.DepartmentDigests.AsNoTracking().Where(d => d.PeriodStart == start).Select(d => d.Department).ToListAsync(ct);
        var due = departments.Except(sent, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (due.Count == 0)
        {
            return 0;
        }
        var length = (end - start).Ticks;
        var current = await CauseCountsAsync(db, start, end, ct);
        var previous = await CauseCountsAsync(db, start - TimeSpan.FromTicks(length), start, ct);
        var causes = await db.RootCauses.AsNoTracking().ToListAsync(ct);
        var count = 0;
        foreach (var department in due)
        {
            var owned = causes.Where(c => c.Department == department).ToList();
            var alerts = await db.CauseAlerts.AsNoTracking().Where(a => a.Department == department && a.CreatedAt >= start && a.CreatedAt < end).OrderBy(a => a.CreatedAt).ToListAsync(ct);
            var actions = await db.ImprovementActions.AsNoTracking()
                .Where(a => a.Department == department && (a.Status == ImprovementStatus.Planned || a.Status == ImprovementStatus.InProgress || (a.ShippedAt >= start && a.ShippedAt < end)))
                .OrderBy(a => a.DueAt).ToListAsync(ct);
            var body = new StringBuilder()
                .Append(CultureInfo.InvariantCulture, $"{department}: what customers said from {start:yyyy-MM-dd} to {end.AddDays(-1):yyyy-MM-dd} (UTC)\n\nYour causes (this period, previous period):\n");
            foreach (var cause in owned.OrderByDescending(c => current.GetValueOrDefault(c.Code)).ThenBy(c => c.Code, StringComparer.Ordinal))
            {
                long now_ = current.GetValueOrDefault(cause.Code), before = previous.GetValueOrDefault(cause.Code);
                if (now_ + before > 0)
                {
                    body.Append(CultureInfo.InvariantCulture, $"  {cause.Name} ({cause.Code}): {now_} ({before}{(before > 0 ? $", {100.0 * (now_ - before) / before:+0;-0}%" : "")})\n");
                }
            }
            body.Append(CultureInfo.InvariantCulture, $"\nRising causes detected: {alerts.Count}\n")
                .AppendJoin("", alerts.Select(a => $"  #{a.Id} {a.Cause}: {a.Observed} in 24 hours (about {a.Expected:0.#} normal), {a.Status}\n"))
                .Append("\nImprovement actions:\n")
                .AppendJoin("", actions.Select(a => $"  #{a.Id} {a.Title} ({a.Cause}), {a.Status}" +
                    (a.Status == ImprovementStatus.Shipped ? $", {a.CustomersTold} customers told" : a.IsOverdue(now) ? $", OVERDUE since {a.DueAt:yyyy-MM-dd}" : a.DueAt is { } d ? $", due {d:yyyy-MM-dd}" : "") + "\n"));
            if (actions.Count == 0)
            {
                body.Append("  none\n");
            }
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            if (await db.DepartmentDigests.AnyAsync(d => d.Department == department && d.PeriodStart == start, ct))
            {
                // Sent already, by this process or another: looked for first, as for cause alerts.
                await transaction.RollbackAsync(ct);
                continue;
            }
            var recipients = await RecipientsAsync(db, department, ct);
            db.DepartmentDigests.Add(new DepartmentDigest { Department = department, PeriodStart = start, PeriodEnd = end, Recipients = recipients.Count, CreatedAt = now });
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException)
            {
                await transaction.RollbackAsync(ct);
                continue;
            }
            foreach (var to in recipients)
            {
                await outbox.EmailAsync(db.Database.GetDbConnection(), transaction.GetDbTransaction(), "department.digest", to,
                    $"Closeloop digest for {department}, week of {start:yyyy-MM-dd}", body.ToString(), null, now, ct);
            }
            await transaction.CommitAsync(ct);
            signal.Pending();
            count++;
        }
        return count;
    }

    private static async Task<Dictionary<string, long>> CauseCountsAsync(CloseloopDb db, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (table, at) in new[] { ("responses", "responded_at"), ("contacts", "occurred_at") })
        {
            await ReadAsync(db, $"SELECT root_cause, COUNT(*) FROM {table} WHERE root_cause IS NOT NULL AND {at} >= @a AND {at} < @b GROUP BY root_cause",
                [("@a", from.ToUnixTimeMilliseconds()), ("@b", to.ToUnixTimeMilliseconds())], r => counts[r.GetString(0)] = counts.GetValueOrDefault(r.GetString(0)) + r.GetInt64(1), ct);
        }
        return counts;
    }

    private TimeSpan Duration(string key, TimeSpan fallback) =>
        configuration[key] is { } text && Alerts.AlertRuleDefinition.TryDuration(text, out var value) && value > TimeSpan.Zero ? value : fallback;

    internal static async Task ReadAsync(CloseloopDb db, string sql, (string Name, object? Value)[] parameters, Action<DbDataReader> row, CancellationToken ct)
    {
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            foreach (var (name, value) in parameters)
            {
                Migrator.AddParameter(command, name, value);
            }
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                row(reader);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static async Task<long?> ScalarAsync(CloseloopDb db, string sql, (string Name, object? Value)[] parameters, CancellationToken ct)
    {
        long? result = null;
        await ReadAsync(db, sql, parameters, r => result = r.IsDBNull(0) ? null : Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), ct);
        return result;
    }
}
