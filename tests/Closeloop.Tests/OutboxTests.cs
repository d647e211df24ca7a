using System.Globalization;
using Closeloop.Data;
using Closeloop.Notifications;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

/// <summary>The outbox against a real SMTP server: one message that can never go out must not hold back the others.</summary>
public sealed class OutboxTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task AnAddressTheMailLibraryRefusesFailsOnItsOwnAndTheRestAreDelivered(string provider)
    {
        using var smtp = new SmtpServer();
        var clock = new TestClock(DateTimeOffset.Parse("2026-11-16T09:00:00Z", CultureInfo.InvariantCulture));
        await using var app = new TestApp(provider, new()
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:From"] = "closeloop@example.com",
        }, services => services.AddSingleton<TimeProvider>(clock));
        using var _ = app.Admin();
        var db = app.Services.GetRequiredService<Db>();
        var outbox = app.Services.GetRequiredService<Outbox>();
        await using (var connection = await db.OpenAsync())
        {
            // Written before ingest checked addresses this strictly, or by a person's record: System.Net.Mail throws on it.
            await outbox.EmailAsync(connection, null, "test.bad", "jane,doe@example.com", "Hello", "Body", null, clock.GetUtcNow(), CancellationToken.None);
            await outbox.EmailAsync(connection, null, "test.good", "ok@example.com", "Hello", "Body", null, clock.GetUtcNow(), CancellationToken.None);
        }

        // The app's own sender may get there first (it is woken by the insert); either pass must deliver the good
        // message and record the bad one as a failed attempt instead of throwing.
        await app.Services.GetRequiredService<OutboxSender>().DeliverDueAsync(CancellationToken.None);

        Assert.Contains("ok@example.com", Assert.Single(await smtp.WaitForAsync(m => m.Count >= 1)), StringComparison.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            await using var check = await db.OpenAsync();
            await using var command = check.CreateCommand();
            command.CommandText = "SELECT attempts, last_error, claimed_by, sent_at FROM outbox WHERE event = 'test.bad'";
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            if (reader.GetInt32(0) >= 1 && reader.IsDBNull(2))
            {
                Assert.Contains("FormatException", reader.GetString(1), StringComparison.Ordinal);
                Assert.True(reader.IsDBNull(3));
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, "the bad message was never recorded as a failed attempt");
            await Task.Delay(100);
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AReceiverThatHangsDelaysOnlyItsOwnMessagesAndEachRecipientGetsItsOwnInOrder(string provider)
    {
        using var smtp = new SmtpServer();
        // A receiver that accepts the connection and never answers: each send waits for the 10 s timeout.
        using var hanging = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        hanging.Start();
        var held = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.TcpClient>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    held.Add(await hanging.AcceptTcpClientAsync());
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        });
        await using var good = await WebhookReceiver.StartAsync();
        await using var app = new TestApp(provider, new()
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:From"] = "closeloop@example.com",
        });
        using var admin = app.Admin();
        // The hanging subscription first, so its messages come before the others in the outbox.
        foreach (var url in new[] { $"http://127.0.0.1:{((System.Net.IPEndPoint)hanging.LocalEndpoint).Port}/hook", good.Url })
        {
            (await admin.PostJsonAsync("/api/v1/webhooks", new { url, secret = "a-secret-of-sixteen+", events = new[] { "test.order" } })).EnsureSuccessStatusCode();
        }
        var outbox = app.Services.GetRequiredService<Outbox>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await using (var connection = await app.Services.GetRequiredService<Db>().OpenAsync())
        {
            // One transaction, as the changes that queue messages write them: whichever pass claims them (the app's
            // own sender is woken too) claims them all, and sends each recipient's in order.
            await using var transaction = await connection.BeginTransactionAsync();
            for (var n = 1; n <= 3; n++)
            {
                Assert.Equal(2, await outbox.WebhooksAsync(connection, transaction, "test.order", new { n }, 1, null, DateTimeOffset.UtcNow, CancellationToken.None));
            }
            await outbox.EmailAsync(connection, transaction, "test.mail", "ok@example.com", "Hello", "Body", null, DateTimeOffset.UtcNow, CancellationToken.None);
            await transaction.CommitAsync();
        }
        var pass = app.Services.GetRequiredService<OutboxSender>().DeliverDueAsync(CancellationToken.None);

        // One after another, the hanging receiver's three messages would hold the rest back for 30 s.
        Assert.Contains("ok@example.com", Assert.Single(await smtp.WaitForAsync(m => m.Count >= 1, seconds: 8)), StringComparison.Ordinal);
        Assert.NotNull(await good.WaitForAsync(d => d.Body.Contains("\"n\":3", StringComparison.Ordinal), seconds: 8));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(9), $"took {watch.Elapsed}");
        Assert.Equal(["1", "2", "3"], good.Deliveries.Select(d => System.Text.Json.JsonDocument.Parse(d.Body).RootElement.GetProperty("data").GetProperty("n").ToString()));
        await pass;
        hanging.Stop();
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task WhileTheMailServerIsDownItsMessagesWaitUntriedTheLogSaysSoOnceAndAllGoOutWhenItIsBack(string provider)
    {
        using var smtp = new SmtpServer();
        smtp.Stop();
        var clock = new TestClock(DateTimeOffset.Parse("2026-11-16T09:00:00Z", CultureInfo.InvariantCulture));
        var log = new LogCapture();
        await using var app = new TestApp(provider, new()
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:From"] = "closeloop@example.com",
            ["Outbox:BaseBackoffSeconds"] = "10",
            ["Logging:LogLevel:Closeloop.Notifications"] = "Information",
        }, services =>
        {
            services.AddSingleton<TimeProvider>(clock);
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(log);
        });
        using var admin = app.Admin();
        var db = app.Services.GetRequiredService<Db>();
        var outbox = app.Services.GetRequiredService<Outbox>();
        await using (var connection = await db.OpenAsync())
        {
            for (var i = 0; i < 30; i++)
            {
                await outbox.EmailAsync(connection, null, "test.down", $"person{i}@example.com", "Hello", $"Body {i}", null, clock.GetUtcNow(), CancellationToken.None);
            }
        }
        var sender = app.Services.GetRequiredService<OutboxSender>();
        // The app's own sender runs passes too; on the test's clock no retry falls due, however many there are.
        for (var pass = 0; pass < 3; pass++)
        {
            await sender.DeliverDueAsync(CancellationToken.None);
        }
        await Task.Delay(1500);

        async Task<(long Tried, long Attempts, long Unclaimed, long Sent)> StateAsync()
        {
            await using var check = await db.OpenAsync();
            await using var command = check.CreateCommand();
            command.CommandText = "SELECT SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), SUM(attempts), SUM(CASE WHEN claimed_by IS NULL THEN 1 ELSE 0 END), " +
                "SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END) FROM outbox WHERE event = 'test.down'";
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        }
        // The first failure takes the server out: only the sends already under way beside it (one per recipient the
        // process serves at once, Outbox:Concurrency = 8, however the app's passes and the test's overlap) were tried,
        // once each; the rest wait untried and unclaimed.
        var down = await StateAsync();
        Assert.InRange(down.Tried, 1, 8);
        Assert.Equal(down.Tried, down.Attempts);
        Assert.Equal(30, down.Unclaimed);
        Assert.Equal(0, down.Sent);
        var outboxLog = log.Entries.Where(e => e.Category == typeof(OutboxSender).FullName).ToList();
        var warning = Assert.Single(outboxLog);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.StartsWith($"The SMTP server 127.0.0.1:{smtp.Port} is down (SmtpException", warning.Message, StringComparison.Ordinal);

        // An admin sees the backlog and why; nobody else does.
        var status = Assert.Single((await (await admin.GetAsync("/api/v1/outbox")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal("email", status.GetProperty("destination").GetString());
        Assert.Equal(30, status.GetProperty("waiting").GetInt32());
        Assert.Equal(down.Tried, status.GetProperty("failing").GetInt32());
        Assert.Contains("Connection refused", status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.True(status.GetProperty("down").GetBoolean());
        Assert.Equal(1, status.GetProperty("failedTries").GetInt32());
        Assert.Equal(clock.GetUtcNow(), status.GetProperty("waitingSince").GetDateTimeOffset());
        using (var supervisor = app.Client(await app.CreateKeyAsync("supervisor", "north")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await supervisor.GetAsync("/api/v1/outbox")).StatusCode);
        }
        // The same on the console's webhooks page, for an admin signed in as a person: where mail goes (host and port),
        // the backlog, that the server is taken as down, and the error.
        await admin.CreateUserAsync("outbox-admin@example.com", "admin");
        using var person = await app.SignInAsync("outbox-admin@example.com");
        var page = await person.GetStringAsync("/admin/webhooks");
        Assert.Contains($"<code>127.0.0.1:{smtp.Port}</code>", page, StringComparison.Ordinal);
        Assert.Matches(@"data-testid=""email-backlog""><strong>30 waiting</strong> since 2026-11-16 09:00 UTC; \d tried and failed at least once\.", page);
        Assert.Contains("data-testid=\"email-down\">The server is taken as down since 2026-11-16 09:00 UTC after 1 failed try:", page, StringComparison.Ordinal);
        Assert.Matches(@"data-testid=""email-error"">Last error: [^<]*Connection refused", page);

        // Its next try is one message, the probe; it fails, and the log says so once more, in passing.
        clock.Advance(TimeSpan.FromSeconds(11));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await StateAsync()).Attempts == down.Attempts)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server was not tried again");
            await sender.DeliverDueAsync(CancellationToken.None);
            await Task.Delay(50);
        }
        await Task.Delay(1000);
        Assert.Equal(down.Attempts + 1, (await StateAsync()).Attempts);
        Assert.Contains(log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Information && e.Message.Contains("is still down after 2 tries", StringComparison.Ordinal));

        // Back up: the next probe goes through, and every message follows, each once.
        smtp.Start();
        clock.Advance(TimeSpan.FromMinutes(10));
        await smtp.WaitForAsync(m => m.Count >= 30, seconds: 30);
        await Task.Delay(500);
        Assert.Equal(30, smtp.Messages().Count);
        Assert.Equal(30, (await StateAsync()).Sent);
        Assert.Contains(log.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Information && e.Message.Contains("is back after 2 failed tries", StringComparison.Ordinal));
        Assert.Empty((await (await admin.GetAsync("/api/v1/outbox")).ReadJsonAsync()).EnumerateArray());
        Assert.Contains("data-testid=\"email-backlog\">Nothing waiting.", await person.GetStringAsync("/admin/webhooks"), StringComparison.Ordinal);
        Assert.DoesNotContain(log.Entries, e => e.Message.StartsWith("Delivery of outbox message", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AReceiverThatFailsIsTriedWithOneMessageAtATimeAndAMessageItChokesOnStepsAsideForTheOthers(string provider)
    {
        var clock = new TestClock(DateTimeOffset.Parse("2026-11-16T09:00:00Z", CultureInfo.InvariantCulture));
        await using var receiver = await WebhookReceiver.StartAsync();
        // It fails on one body only, with a 500 that looks like the receiver being down.
        receiver.Answer = body => body.Contains("\"n\":1}", StringComparison.Ordinal) ? 500 : 204;
        await using var app = new TestApp(provider, new() { ["Outbox:BaseBackoffSeconds"] = "10" }, services => services.AddSingleton<TimeProvider>(clock));
        using var admin = app.Admin();
        (await admin.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, secret = "a-secret-of-sixteen+", events = new[] { "test.wait" } })).EnsureSuccessStatusCode();
        var outbox = app.Services.GetRequiredService<Outbox>();
        await using (var connection = await app.Services.GetRequiredService<Db>().OpenAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            for (var n = 1; n <= 5; n++)
            {
                Assert.Equal(1, await outbox.WebhooksAsync(connection, transaction, "test.wait", new { n }, 1, null, clock.GetUtcNow(), CancellationToken.None));
            }
            await transaction.CommitAsync();
        }
        var sender = app.Services.GetRequiredService<OutboxSender>();
        async Task PassesUntilAsync(Func<bool> done)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!done())
            {
                Assert.True(DateTime.UtcNow < deadline, $"refused {receiver.Refused}, delivered {receiver.Deliveries.Count}");
                await sender.DeliverDueAsync(CancellationToken.None);
                await Task.Delay(50);
            }
        }

        // The first message fails, and the four behind it wait; each later try is that one message again, in order,
        // 10, 20 and 40 s later, and nothing else is sent to the receiver meanwhile.
        await PassesUntilAsync(() => receiver.Refused == 1);
        // An admin sees on the webhooks page that the receiver is taken as down, and until when.
        await admin.CreateUserAsync("hooks-admin@example.com", "admin");
        using (var person = await app.SignInAsync("hooks-admin@example.com"))
        {
            var page = await person.GetStringAsync("/admin/webhooks");
            Assert.Contains("data-testid=\"webhook-down\">Receiver taken as down: its deliveries wait until the next try, 2026-11-16 09:00 UTC.", page, StringComparison.Ordinal);
            Assert.Contains("after 1 attempt(s)", page, StringComparison.Ordinal);
        }
        foreach (var (wait, refused) in new[] { (11, 2), (21, 3), (41, 4) })
        {
            await Task.Delay(300);
            Assert.Equal(refused - 1, receiver.Refused);
            clock.Advance(TimeSpan.FromSeconds(wait));
            await PassesUntilAsync(() => receiver.Refused == refused);
        }
        Assert.Empty(receiver.Deliveries);

        // After three tries it steps aside: the next try is the second message, which goes through, and the rest follow.
        clock.Advance(TimeSpan.FromSeconds(81));
        await PassesUntilAsync(() => receiver.Deliveries.Count == 4);
        await Task.Delay(300);
        Assert.Equal(["2", "3", "4", "5"], receiver.Deliveries.Select(d => System.Text.Json.JsonDocument.Parse(d.Body).RootElement.GetProperty("data").GetProperty("n").ToString()));
        Assert.Equal(4, receiver.Refused);
        using (var person = await app.SignInAsync("hooks-admin@example.com"))
        {
            Assert.DoesNotContain("webhook-down", await person.GetStringAsync("/admin/webhooks"), StringComparison.Ordinal);
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AWebhookSubscriptionShowsItsSiteAndASecretTooShortIsRefused(string provider)
    {
        using var admin = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: site));

        var refused = await admin.PostJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/hook", secret = "too-short", site });
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True((await refused.ReadJsonAsync()).GetProperty("errors").TryGetProperty("secret", out _));

        var created = await (await admin.PostJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/hook", secret = "a-secret-of-sixteen+", site })).ReadJsonAsync();
        Assert.Equal("a-secret-of-sixteen+", created.GetProperty("secret").GetString());
        var listed = (await (await admin.GetAsync("/api/v1/webhooks")).ReadJsonAsync()).EnumerateArray()
            .Single(w => w.GetProperty("id").GetInt64() == created.GetProperty("id").GetInt64());
        Assert.Equal(site, listed.GetProperty("site").GetString());
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/webhooks/{created.GetProperty("id").GetInt64()}")).StatusCode);
    }
}
