using System.Data.Common;
using System.Globalization;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Text;
using Closeloop.Alerts;
using Closeloop.Data;

namespace Closeloop.Notifications;

public sealed class SmtpOptions
{
    public string Host { get; set; } = "localhost";
    public int Port { get; set; } = 25;
    public bool EnableSsl { get; set; }
    public string? User { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "closeloop@localhost";

    /// <summary>Read at each use, so that a changed setting applies without a restart.</summary>
    public static SmtpOptions Read(IConfiguration configuration) => configuration.GetSection("Smtp").Get<SmtpOptions>() ?? new SmtpOptions();

    /// <summary>Where mail goes, for logs and pages: never the sign-in.</summary>
    public string Server => $"{Host}:{Port}";
}

/// <summary>
/// Delivers the outbox: claims due messages (FOR UPDATE SKIP LOCKED on PostgreSQL, so two processes never take
/// the same one), sends each over real SMTP or HTTP, and marks it sent, or schedules a retry with exponential
/// backoff when the server or receiver is down. Nothing is dropped: a message waits until it is delivered. A destination
/// that is down as a whole (the SMTP server unreachable, a webhook receiver refusing connections or answering 5xx) is
/// tried with one message at a time on its own backoff (<see cref="Destinations"/>), and the log says when it went
/// down and when it came back instead of once per message and attempt.
/// </summary>
public sealed class OutboxSender(
    Db db, IHttpClientFactory httpClients, TimeProvider time, OutboxSignal signal, Destinations destinations, IConfiguration configuration, ILogger<OutboxSender> logger)
    : BackgroundService
{
    private readonly string _me = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private readonly Destinations _destinations = destinations;

    /// <summary><c>Outbox:Concurrency</c>, read once, at start: the bound below cannot change size.</summary>
    private readonly int _concurrency = ConcurrencyOf(configuration);

    /// <summary>
    /// Recipients served at once in this process, whichever pass serves them: passes can overlap (one woken while
    /// another still waits on a slow receiver), and without a shared bound two of them would send to twice as many
    /// recipients, and try a destination that has just gone down that many more times. Never disposed: it lives as
    /// long as the sender, and has no wait handle to free.
    /// </summary>
    private readonly SemaphoreSlim _recipients = new(ConcurrencyOf(configuration));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var sent = 0;
            try
            {
                sent = await DeliverDueAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Outbox delivery pass failed");
            }
            if (sent == 0)
            {
                try
                {
                    await signal.WaitAsync(TimeSpan.FromMilliseconds(500), TimeProvider.System, stoppingToken);
                }
                catch (TimeoutException)
                {
                }
            }
        }
    }

    /// <summary>
    /// One pass: claim, send, record. Returns how many were delivered. Each recipient's messages in the pass go out
    /// one after another, in the order they were written (an alert's "created" before its "escalated" when the pass
    /// claimed both; another pass may overlap on a recipient, so order across passes is not promised); different recipients
    /// are served side by side (<c>Outbox:Concurrency</c>, default 8, shared by the passes of the process), so a
    /// receiver that hangs until its timeout delays only its own messages.
    /// </summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var claimed = await ClaimAsync(connection, ct);
        // The pass's one connection runs one statement at a time; only the sends overlap.
        using var gate = new SemaphoreSlim(1, 1);
        var delivered = 0;
        await Parallel.ForEachAsync(claimed.GroupBy(m => m.Recipient, StringComparer.Ordinal),
            new ParallelOptions { MaxDegreeOfParallelism = _concurrency, CancellationToken = ct },
            async (messages, token) =>
            {
                await _recipients.WaitAsync(token);
                try
                {
                    foreach (var message in messages)
                    {
                        if (await DeliverAsync(connection, gate, message, token))
                        {
                            Interlocked.Increment(ref delivered);
                        }
                    }
                }
                finally
                {
                    _recipients.Release();
                }
            });
        return delivered;
    }

    private async Task<bool> DeliverAsync(DbConnection connection, SemaphoreSlim gate, Claimed message, CancellationToken ct)
    {
        (string Url, string Secret)? hook = null;
        var destination = DestinationOf(message);
        await gate.WaitAsync(ct);
        try
        {
            // A slow receiver can take a pass past the lease of the messages claimed with it: another process may
            // then have claimed and sent one. Each message's claim is renewed right before it is sent, and one that
            // is no longer this process's is left alone, so two processes never both send it.
            if (!await RenewClaimAsync(connection, message.Id, ct))
            {
                return false;
            }
            // The destination went down after this message was claimed (another of the pass found it so), or it is
            // being probed by another: the message waits, untried, for its next try.
            if (!_destinations.TryTake(destination, time.GetUtcNow()))
            {
                await ReleaseAsync(connection, message.Id, ct);
                return false;
            }
            if (message.Kind != OutboxKinds.Email)
            {
                hook = await SubscriptionAsync(connection, message, ct);
            }
        }
        finally
        {
            gate.Release();
        }
        Failure? failure = null;
        try
        {
            if (message.Kind == OutboxKinds.Email)
            {
                await SendEmailAsync(message, ct);
            }
            else if (hook is { } subscription)
            {
                failure = await SendWebhookAsync(subscription.Url, subscription.Secret, message, ct);
            }
            // A webhook whose subscription was removed has no one left to deliver to: it counts as done.
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Whatever one message does (an address the mail library refuses, a webhook URL gone bad) is that
            // message's failure, recorded and retried with backoff: it must not abort the pass and hold back
            // the messages claimed with it until their lease runs out.
            failure = new Failure(Explain(ex), IsDestinationFailure(ex));
        }
        await gate.WaitAsync(ct);
        try
        {
            await RecordAsync(connection, message, destination, failure, ct);
        }
        finally
        {
            gate.Release();
        }
        return failure is null;
    }

    /// <summary>Why a send failed, and whether the destination as a whole did (rather than this one message).</summary>
    private sealed record Failure(string Error, bool Destination);

    /// <summary>
    /// The exception and the one at the root of it: SmtpClient says "Failure sending mail." for everything from a
    /// refused connection to a failed TLS handshake, and only its inner exception tells which.
    /// </summary>
    private static string Explain(Exception ex)
    {
        var text = $"{ex.GetType().Name}: {ex.Message}";
        var root = ex.GetBaseException();
        return ReferenceEquals(root, ex) ? text : $"{text} ({root.GetType().Name}: {root.Message})";
    }

    /// <summary>The SMTP server for every e-mail, the subscription for a webhook.</summary>
    private static string DestinationOf(Claimed message) => message.Kind == OutboxKinds.Email ? Destinations.Smtp : message.Recipient;

    /// <summary>
    /// A recipient the server refuses or an address the mail library cannot parse is the message's own failure; any
    /// other (no connection, a timeout, TLS or sign-in refused, the server busy) would fail every message alike.
    /// </summary>
    private static bool IsDestinationFailure(Exception ex) => ex is not (SmtpFailedRecipientException or FormatException or ArgumentException);

    private async Task RecordAsync(DbConnection connection, Claimed message, string destination, Failure? failure, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (failure is null)
        {
            await AlertEngine.ExecuteAsync(connection, transaction, "UPDATE outbox SET sent_at = @now, attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL, last_error = NULL WHERE id = @id AND claimed_by = @me",
                ct, ("@now", now.ToUnixTimeMilliseconds()), ("@id", message.Id), ("@me", _me));
            if (message.Event == "customer.outcome" && message.AlertId is { } alertId)
            {
                // The loop is closed once the customer has been told: that is what the closed-loop rate counts.
                await AlertEngine.ExecuteAsync(connection, transaction, "UPDATE alerts SET customer_told_at = COALESCE(customer_told_at, @now) WHERE id = @id",
                    ct, ("@now", now.ToUnixTimeMilliseconds()), ("@id", alertId));
                await AlertLog.AppendAsync(connection, transaction, alertId, ActionTypes.CustomerTold, "system", now,
                    new { via = message.Kind == OutboxKinds.Email ? "email" : "webhook", to = message.Recipient }, ct);
            }
        }
        else
        {
            var attempts = message.Attempts + 1;
            var backoff = Backoff(attempts);
            Destinations.Outage? outage = null;
            var known = false;
            if (failure.Destination)
            {
                // A destination's first retry comes after the base delay, a message's after twice it.
                (outage, known) = _destinations.Failed(destination, now, failures => Backoff(failures - 1));
                // The message is due again at the destination's next try, so it goes first then, in its turn. After a
                // few failed tries it steps aside for the others: if the fault is in this message after all (a body
                // the receiver chokes on), the next try sends another one, whose delivery tells that the destination is up.
                var atNextTry = outage.NextTry - now;
                backoff = attempts <= StepAsideAfter ? atNextTry : (backoff > 2 * atNextTry ? backoff : 2 * atNextTry);
            }
            var error = failure.Error;
            await AlertEngine.ExecuteAsync(connection, transaction, "UPDATE outbox SET attempts = @n, next_attempt_at = @next, last_error = @err, claimed_by = NULL, claimed_until = NULL WHERE id = @id AND claimed_by = @me",
                ct, ("@n", attempts), ("@next", (now + backoff).ToUnixTimeMilliseconds()), ("@err", error.Length > 500 ? error[..500] : error), ("@id", message.Id), ("@me", _me));
            // A send beside the one that found the destination down logs nothing: that one said so.
            if (outage is null)
            {
                logger.LogWarning("Delivery of outbox message {Id} ({Event} to {Recipient}) failed, attempt {Attempt}: {Error}", message.Id, message.Event, message.Recipient, attempts, error);
            }
            else if (!known && outage.Failures == 1)
            {
                logger.LogWarning("{Destination} is down ({Error}): its messages wait in the outbox, and it is tried again with one of them in {Seconds} s",
                    Describe(destination), error, (outage.NextTry - now).TotalSeconds);
            }
            else if (!known)
            {
                logger.LogInformation("{Destination} is still down after {Tries} tries since {Since:u} ({Error}); next try in {Seconds} s",
                    Describe(destination), outage.Failures, outage.Since, error, (outage.NextTry - now).TotalSeconds);
            }
        }
        await transaction.CommitAsync(ct);
        if (failure is null && _destinations.Delivered(destination) is { } ended)
        {
            logger.LogInformation("{Destination} is back after {Tries} failed tries since {Since:u}: delivery resumed", Describe(destination), ended.Failures, ended.Since);
        }
    }

    private string Describe(string destination)
    {
        if (destination == Destinations.Smtp)
        {
            return $"The SMTP server {SmtpOptions.Read(configuration).Server}";
        }
        // The subscription's id, not its URL: a receiver's URL may carry a token.
        return $"Webhook subscription {destination["subscription:".Length..]}";
    }

    /// <summary>How many failed tries of a destination one message makes before it lets another try instead.</summary>
    private const int StepAsideAfter = 3;

    /// <summary>Gives a claimed message back untried.</summary>
    private async Task ReleaseAsync(DbConnection connection, long id, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = @id AND claimed_by = @me";
        Migrator.AddParameter(command, "@id", id);
        Migrator.AddParameter(command, "@me", _me);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>True when the message is still unsent and this process's, its lease then running a full minute again.</summary>
    private async Task<bool> RenewClaimAsync(DbConnection connection, long id, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE outbox SET claimed_until = @lease WHERE id = @id AND claimed_by = @me AND sent_at IS NULL";
        Migrator.AddParameter(command, "@lease", time.GetUtcNow().ToUnixTimeMilliseconds() + LeaseMs);
        Migrator.AddParameter(command, "@id", id);
        Migrator.AddParameter(command, "@me", _me);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>How long a claim holds: far longer than one send (SMTP and webhooks time out after 10 s).</summary>
    private const long LeaseMs = 60_000;

    private static int ConcurrencyOf(IConfiguration configuration) => Math.Max(1, configuration.GetValue<int?>("Outbox:Concurrency") ?? 8);


    /// <summary>The base delay times 2 to the power <paramref name="n"/>, capped at <c>Outbox:MaxBackoffSeconds</c>.</summary>
    private TimeSpan Backoff(int n) => TimeSpan.FromSeconds(Math.Min(MaxBackoffSeconds, Math.Pow(2, Math.Min(n, 12)) * BaseBackoffSeconds));

    private double BaseBackoffSeconds => configuration.GetValue<double?>("Outbox:BaseBackoffSeconds") ?? 1;

    private double MaxBackoffSeconds => configuration.GetValue<double?>("Outbox:MaxBackoffSeconds") ?? 300;

    private sealed record Claimed(long Id, string Kind, string Event, string Recipient, string? Subject, string Body, long? AlertId, int Attempts);

    private async Task<List<Claimed>> ClaimAsync(DbConnection connection, CancellationToken ct)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        // A claim expires, so a process that died mid-send does not strand its messages.
        var lease = now + LeaseMs;
        await using var command = connection.CreateCommand();
        // A destination that is down is left out until its next try, so its messages stay untried, unclaimed and
        // free for another process whose view of it may differ.
        var down = new StringBuilder();
        var hooksDown = 0;
        foreach (var destination in _destinations.DownAt(time.GetUtcNow()))
        {
            if (destination == Destinations.Smtp)
            {
                down.Append(" AND kind <> 'email'");
            }
            else
            {
                down.Append(hooksDown == 0 ? " AND recipient NOT IN (" : ", ").Append(CultureInfo.InvariantCulture, $"@down{hooksDown}");
                Migrator.AddParameter(command, $"@down{hooksDown++}", destination);
            }
        }
        if (hooksDown > 0)
        {
            down.Append(')');
        }
        var select = $"SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= @now AND (claimed_until IS NULL OR claimed_until < @now){down} ORDER BY id LIMIT 50" +
            (db.IsSqlite ? "" : " FOR UPDATE SKIP LOCKED");
        var list = new List<Claimed>();
        command.CommandText = $"UPDATE outbox SET claimed_by = @me, claimed_until = @lease WHERE id IN ({select}) " +
            "RETURNING id, kind, event, recipient, subject, body, alert_id, attempts";
        Migrator.AddParameter(command, "@me", _me);
        Migrator.AddParameter(command, "@lease", lease);
        Migrator.AddParameter(command, "@now", now);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(new Claimed(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetInt64(6), reader.GetInt32(7)));
        }
        return list.OrderBy(c => c.Id).ToList();
    }

    private async Task SendEmailAsync(Claimed message, CancellationToken ct)
    {
        var options = SmtpOptions.Read(configuration);
        using var client = new SmtpClient(options.Host, options.Port) { EnableSsl = options.EnableSsl, Timeout = 10_000 };
        if (options.User is not null)
        {
            client.Credentials = new System.Net.NetworkCredential(options.User, options.Password);
        }
        using var mail = new MailMessage(options.From, message.Recipient, SubjectLine(message.Subject), message.Body)
        {
            // Plain UTF-8 text without quoted-printable soft breaks, so links stay whole in every mail reader.
            BodyEncoding = Encoding.UTF8,
            BodyTransferEncoding = System.Net.Mime.TransferEncoding.EightBit,
            SubjectEncoding = Encoding.UTF8,
        };
        // A stable Message-ID lets a receiving system drop a duplicate if a send is ever repeated after a crash.
        mail.Headers.Add("Message-ID", $"<outbox-{message.Id}@closeloop>");
        mail.Headers.Add("X-Closeloop-Event", message.Event);
        await client.SendMailAsync(mail, ct);
    }

    /// <summary>
    /// A subject is one header line: a line break in a name an admin typed (a rule, a cause) would make every send of
    /// the message throw, and the outbox would retry it forever, so control characters become spaces here.
    /// </summary>
    internal static string SubjectLine(string? subject)
    {
        if (string.IsNullOrWhiteSpace(subject))
        {
            return "Closeloop";
        }
        var line = string.Create(subject.Length, subject, (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? ' ' : s[i];
            }
        });
        return line.Trim();
    }

    /// <summary>The subscription's address and secret, or null when it was removed.</summary>
    private static async Task<(string Url, string Secret)?> SubscriptionAsync(DbConnection connection, Claimed message, CancellationToken ct)
    {
        var id = long.Parse(message.Recipient["subscription:".Length..], System.Globalization.CultureInfo.InvariantCulture);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT url, secret FROM webhook_subscriptions WHERE id = @id";
        Migrator.AddParameter(command, "@id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetString(0), reader.GetString(1)) : null;
    }

    /// <summary>
    /// Returns null when delivered, or why not: a 5xx, 408 or 429 is the receiver's trouble (as is no answer at all),
    /// any other status a refusal of this message.
    /// </summary>
    private async Task<Failure?> SendWebhookAsync(string url, string secret, Claimed message, CancellationToken ct)
    {
        var client = httpClients.CreateClient("webhooks");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(message.Body, Encoding.UTF8, "application/json") };
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        request.Headers.Add("X-Closeloop-Event", message.Event);
        request.Headers.Add("X-Closeloop-Delivery", message.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("X-Closeloop-Timestamp", timestamp);
        request.Headers.Add("X-Closeloop-Signature", "sha256=" + Sign(secret, message.Body));
        // The timestamp signed with the body, so a receiver can refuse a delivery replayed later (the signature above
        // covers the body alone and stays for receivers built on it).
        request.Headers.Add("X-Closeloop-Signature-Timestamped", "sha256=" + Sign(secret, timestamp + "." + message.Body));
        using var response = await client.SendAsync(request, ct);
        var status = (int)response.StatusCode;
        return response.IsSuccessStatusCode ? null : new Failure($"HTTP {status}", status is >= 500 or 408 or 429);
    }

    /// <summary>HMAC-SHA256 of the exact body bytes, hex: what a receiver recomputes to trust a delivery.</summary>
    public static string Sign(string secret, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));
}
