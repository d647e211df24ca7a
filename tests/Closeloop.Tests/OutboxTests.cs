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
