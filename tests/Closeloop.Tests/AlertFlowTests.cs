using System.Globalization;
using System.Net;
using System.Text.Json;
using Closeloop.Alerts;
using Closeloop.Notifications;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

/// <summary>Service recovery end to end, through HTTP, on a real database and a real SMTP server, with a test clock.</summary>
public sealed class AlertFlowTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    internal static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-11-16T09:00:00Z", CultureInfo.InvariantCulture);

    internal const string ExampleRule = """
        {"name": "Very unhappy customer", "enabled": true,
         "when": {"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]},
         "owner": {"kind": "pool", "name": "recovery"},
         "deadline": "PT2H", "clock": "24x7",
         "escalation": [{"after": "PT1H", "to": {"kind": "siteManager"}}]}
        """;

    internal static (TestApp App, TestClock Clock) NewApp(string provider, SmtpServer smtp, Dictionary<string, string?>? settings = null)
    {
        var clock = new TestClock(Start);
        var all = new Dictionary<string, string?>
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Smtp:From"] = "closeloop@example.com",
            ["Outbox:BaseBackoffSeconds"] = "0.05",
            ["Outbox:MaxBackoffSeconds"] = "1",
            ["Alerts:FollowUpDelay"] = "PT0S",
            ["PublicUrl"] = "https://closeloop.example.com",
        };
        foreach (var (k, v) in settings ?? [])
        {
            all[k] = v;
        }
        var app = new TestApp(provider, all, services => services.AddSingleton<TimeProvider>(clock));
        return (app, clock);
    }

    internal static async Task SetUpPeopleAsync(HttpClient admin, string site)
    {
        // A site exists once a record names it; people and pools can then be attached to it.
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("setup"), site: site, team: $"{site}-team"));
        foreach (var (email, role) in new[] { ($"rita@{site}.example.com", "recovery"), ($"raj@{site}.example.com", "recovery"), ($"mia@{site}.example.com", "site_manager") })
        {
            var created = await admin.PostJsonAsync("/api/v1/users", new { email, name = email.Split('@')[0], role, site, password = "correct horse battery" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/v1/pools/recovery",
            System.Net.Http.Json.JsonContent.Create(new { members = new[] { $"rita@{site}.example.com", $"raj@{site}.example.com" } }))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync($"/api/v1/sites/{site}",
            System.Net.Http.Json.JsonContent.Create(new { manager = $"mia@{site}.example.com" }))).StatusCode);
    }

    internal static async Task<JsonElement> PostActionAsync(HttpClient client, long id, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await client.PostJsonAsync($"/api/v1/alerts/{id}/actions", body);
        Assert.True(expected == response.StatusCode, $"{expected} expected, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await response.ReadJsonAsync();
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ABadResponseRaisesOneAlertThatEscalatesAndIsResolvedWithTheCustomerToldByEmail(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, clock) = NewApp(provider, smtp);
        await using var _ = app;
        using var admin = app.Admin();
        const string site = "north";
        await SetUpPeopleAsync(admin, site);
        var rule = await admin.PostRawAsync("/api/v1/alert-rules", ExampleRule);
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);

        // A very unhappy customer: one alert, owned by the least-loaded member of the recovery pool.
        var first = await admin.PostJsonAsync("/api/v1/responses", new
        {
            externalId = "r-bad-1", customer = new { externalId = "cust-1", name = "Dana", email = "dana@customer.example.com" },
            metric = "csat", score = 1, comment = "Waited an hour and nobody helped", respondedAt = Start.ToString("O"), site, channel = "phone",
        });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var alerts = (await (await admin.GetAsync("/api/v1/alerts?status=open")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(1, alerts.GetArrayLength());
        var alert = alerts[0];
        var id = alert.GetProperty("id").GetInt64();
        Assert.EndsWith($"@{site}.example.com", alert.GetProperty("owner").GetString(), StringComparison.Ordinal);
        Assert.Equal(Start.AddHours(2), alert.GetProperty("dueAt").GetDateTimeOffset());
        Assert.Equal("r-bad-1", alert.GetProperty("trigger").GetProperty("externalId").GetString());
        // The owner is told by e-mail, over real SMTP.
        var owner = alert.GetProperty("owner").GetString()!;
        await smtp.WaitForAsync(m => m.Any(x => x.Contains(owner, StringComparison.Ordinal)));
        Assert.Contains(smtp.Messages(), m => m.Contains(owner, StringComparison.Ordinal) && m.Contains($"/alerts/{id}", StringComparison.Ordinal));

        // By the test's clock the deadline is still ahead, so the alert is not yet counted for or against the SLA.
        Assert.Equal(0, (await SlaAsync(admin)).GetProperty("n").GetInt64());

        // A second bad answer from the same customer is absorbed, not a second alert.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("r-bad-2", "cust-1", "csat", 2, "Still nothing", at: Start.AddMinutes(10), site: site));
        var all = (await (await admin.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(1, all.GetArrayLength());
        Assert.Equal(2, all[0].GetProperty("matches").GetInt32());

        // The deadline passes: the alert escalates to the site manager with a new deadline of one hour.
        var worker = app.Services.GetRequiredService<AlertDeadlineWorker>();
        clock.Advance(TimeSpan.FromMinutes(100));
        await worker.SweepAsync(CancellationToken.None);
        var warned = await (await admin.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync();
        Assert.Contains(warned.GetProperty("actions").EnumerateArray(), a => a.GetProperty("type").GetString() == "warned");
        clock.Advance(TimeSpan.FromMinutes(21));
        await worker.SweepAsync(CancellationToken.None);
        var escalated = await (await admin.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync();
        Assert.Equal(1, escalated.GetProperty("escalationLevel").GetInt32());
        Assert.Equal($"mia@{site}.example.com", escalated.GetProperty("owner").GetString());
        Assert.Equal(clock.GetUtcNow().AddHours(1), escalated.GetProperty("dueAt").GetDateTimeOffset());
        // Past the deadline and not acted on: missed, by the same clock.
        var late = await SlaAsync(admin);
        Assert.Equal(1, late.GetProperty("n").GetInt64());
        Assert.Equal(0.0, late.GetProperty("value").GetDouble());
        // Sweeping again changes nothing: an escalation happens once.
        Assert.Equal(0, await worker.SweepAsync(CancellationToken.None));

        // Recovery, step by step; resolving needs a root cause from the taxonomy and an outcome.
        await PostActionAsync(admin, id, new { type = "acknowledge" });
        await PostActionAsync(admin, id, new { type = "acknowledge" }, HttpStatusCode.Conflict);
        await PostActionAsync(admin, id, new { type = "customer_reached", channel = "phone" });
        await PostActionAsync(admin, id, new { type = "gesture_offered", kind = "credit", value = 20, currency = "GBP" });
        await PostActionAsync(admin, id, new { type = "resolve", outcome = "Refunded" }, HttpStatusCode.BadRequest);
        await PostActionAsync(admin, id, new { type = "resolve", rootCause = "process.long-wait" }, HttpStatusCode.BadRequest);
        await PostActionAsync(admin, id, new { type = "resolve", rootCause = "no.such-cause", outcome = "Refunded" }, HttpStatusCode.BadRequest);
        await PostActionAsync(admin, id, new { type = "close" }, HttpStatusCode.Conflict);
        var resolved = await PostActionAsync(admin, id, new { type = "resolve", rootCause = "process.long-wait", outcome = "We refunded the call charges and added staff to the evening queue." });
        Assert.Equal("resolved", resolved.GetProperty("status").GetString());

        // The customer hears what was done, by e-mail, and the alert records that the loop is closed.
        var mail = await smtp.WaitForAsync(m => m.Any(x => x.Contains("dana@customer.example.com", StringComparison.Ordinal) && x.Contains("added staff", StringComparison.Ordinal)));
        Assert.Single(mail, x => x.Contains("To: dana@customer.example.com", StringComparison.Ordinal) && x.Contains("added staff", StringComparison.Ordinal));
        JsonElement told = default;
        for (var i = 0; i < 100; i++)
        {
            told = await (await admin.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync();
            if (told.GetProperty("customerToldAt").ValueKind != JsonValueKind.Null)
            {
                break;
            }
            await Task.Delay(50);
        }
        Assert.NotEqual(JsonValueKind.Null, told.GetProperty("customerToldAt").ValueKind);
        var log = told.GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("type").GetString()).ToList();
        Assert.Equal(["created", "match_absorbed", "warned", "escalated", "acknowledge", "customer_reached", "gesture_offered", "resolve", "customer_told"], log);
        // The follow-up survey goes out too (the delay is zero in this test) with a single-use link.
        await smtp.WaitForAsync(m => m.Any(x => x.Contains("How did we do", StringComparison.Ordinal)));
        Assert.Contains(smtp.Messages(), m => m.Contains("https://closeloop.example.com/s/", StringComparison.Ordinal));

        // An answer about another site's service (another vendor's) is not this recovery's follow-up, and its alert
        // log never names it.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("r-elsewhere", "cust-1", "csat", 5, "The other shop was great", at: clock.GetUtcNow().AddMinutes(1), site: site + "-vendor"));
        Assert.DoesNotContain("r-elsewhere", (await (await admin.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync()).GetRawText(), StringComparison.Ordinal);
        // The customer answers again: the follow-up measures whether recovery worked.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("r-follow-up", "cust-1", "csat", 4, "Thanks for sorting it", at: clock.GetUtcNow().AddMinutes(5), site: site));
        Assert.Contains("r-follow-up", (await (await admin.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync()).GetRawText(), StringComparison.Ordinal);
        var closedLoop = await (await admin.GetAsync("/api/v1/metrics?groupBy=site")).ReadJsonAsync();
        var measures = closedLoop.GetProperty("total").GetProperty("alerts");
        Assert.Equal(1, measures.GetProperty("n").GetInt32());
        Assert.Equal(100.0, measures.GetProperty("closedLoop").GetProperty("value").GetDouble());
        Assert.Equal(100.0, measures.GetProperty("recoveryRate").GetProperty("value").GetDouble());
        // Acted on after the first deadline: SLA missed. Reached 121 minutes after the alert.
        Assert.Equal(0.0, measures.GetProperty("slaAdherence").GetProperty("value").GetDouble());
        Assert.Equal(121.0, measures.GetProperty("timeToFirstContact").GetProperty("medianMinutes").GetDouble(), 3);
        var byOwner = await (await admin.GetAsync("/api/v1/metrics?groupBy=owner")).ReadJsonAsync();
        Assert.Contains(byOwner.GetProperty("groups").EnumerateArray(), g => g.GetProperty("key").GetString() == $"mia@{site}.example.com");

        await PostActionAsync(admin, id, new { type = "close" });
        await PostActionAsync(admin, id, new { type = "note", text = "late note" }, HttpStatusCode.Conflict);
        await PostActionAsync(admin, id, new { type = "reopen" });
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task NothingIsLostWhenTheSmtpServerIsDownAndEachMessageArrivesOnce(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, clock) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreateUserAsync("owner@example.com", "recovery");
        await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Detractor","when":{"field":"npsCategory","op":"eq","value":"detractor"},"owner":{"kind":"user","email":"owner@example.com"},"deadline":"PT4H"}
            """);
        smtp.Stop();

        for (var i = 0; i < 5; i++)
        {
            await admin.PostJsonAsync("/api/v1/responses", Json.Response($"down-{i}", $"cust-down-{i}", "nps", 3, "Not good", site: "north"));
        }
        var sender = app.Services.GetRequiredService<OutboxSender>();
        await sender.DeliverDueAsync(CancellationToken.None);
        Assert.Empty(smtp.Messages());

        smtp.Start();
        // Retries are scheduled on the injected clock: move it past the backoff.
        clock.Advance(TimeSpan.FromMinutes(10));
        var messages = await smtp.WaitForAsync(m => m.Count >= 5);
        await Task.Delay(500);
        messages = smtp.Messages();
        Assert.Equal(5, messages.Count);
        Assert.Equal(5, messages.Select(m => m.Split('\n').First(l => l.StartsWith("Message-ID", StringComparison.OrdinalIgnoreCase))).Distinct().Count());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ALineBreakInARuleNameNeitherBreaksItsEmailsNorAddsAHeader(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreateUserAsync("crlf-owner@example.com", "recovery");
        var rule = await admin.PostJsonAsync("/api/v1/alert-rules", new
        {
            name = "Detractor\r\nBcc: evil@example.com",
            when = new { field = "npsCategory", op = "eq", value = "detractor" },
            owner = new { kind = "user", email = "crlf-owner@example.com" },
            deadline = "PT4H",
        });
        Assert.Equal(HttpStatusCode.Created, rule.StatusCode);

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("crlf-1", "cust-crlf", "nps", 2, "Not good", site: "north"));

        // Delivered once, with the name on the subject's one line: before, the mail library refused the subject and
        // the outbox retried the message for ever.
        var messages = await smtp.WaitForAsync(m => m.Any(x => x.Contains("crlf-owner@example.com", StringComparison.Ordinal)));
        var mail = Assert.Single(messages, m => m.Contains("crlf-owner@example.com", StringComparison.Ordinal));
        var headers = mail.Split('\n').Select(l => l.TrimEnd('\r')).TakeWhile(l => l.Length > 0).ToList();
        Assert.DoesNotContain(headers, l => l.StartsWith("Bcc:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(headers, l => l.StartsWith("Subject:", StringComparison.OrdinalIgnoreCase));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AConnectedClientSeesANewAlertLive(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreatePoolAsync("recovery");
        await admin.PostRawAsync("/api/v1/alert-rules", ExampleRule);
        if (provider == TestDatabases.Postgres)
        {
            await app.Services.GetRequiredService<Live.PostgresEventRelay>().Ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        using var stream = app.Admin();
        stream.Timeout = TimeSpan.FromSeconds(30);
        using var response = await stream.GetAsync("/api/v1/alerts/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(": connected", await reader.ReadLineAsync());

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("live-1", "cust-live", "csat", 1, "Awful", site: "north"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        string? line;
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && !line.StartsWith("event: ", StringComparison.Ordinal))
        {
        }
        Assert.Equal("event: alert.created", line);
        var created = JsonDocument.Parse((await reader.ReadLineAsync(timeout.Token))!["data: ".Length..]).RootElement;
        Assert.Equal("cust-live", created.GetProperty("customer").GetString());

        // A second match is absorbed by the open alert, and its event (built without reading the alert back)
        // describes the same alert as the first.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("live-2", "cust-live", "csat", 2, "Still awful", site: "north"));
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && !line.StartsWith("event: ", StringComparison.Ordinal))
        {
        }
        Assert.Equal("event: alert.updated", line);
        var updated = JsonDocument.Parse((await reader.ReadLineAsync(timeout.Token))!["data: ".Length..]).RootElement;
        foreach (var field in new[] { "alertId", "status", "owner", "siteId", "site", "customer", "rule", "dueAt", "escalationLevel" })
        {
            Assert.Equal(created.GetProperty(field).ToString(), updated.GetProperty(field).ToString());
        }
        Assert.Equal("north", updated.GetProperty("site").GetString());
        Assert.Equal("Very unhappy customer", updated.GetProperty("rule").GetString());
        var alert = await (await admin.GetAsync($"/api/v1/alerts/{updated.GetProperty("alertId").GetInt64()}")).ReadJsonAsync();
        Assert.Equal(2, alert.GetProperty("matches").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task WebhooksAreSignedWithHmacAndRulesAreManagedThroughTheApi(string provider)
    {
        using var smtp = new SmtpServer();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        var subscription = await (await admin.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "alert.*" } })).ReadJsonAsync();
        var secret = subscription.GetProperty("secret").GetString()!;

        // Rules: create, validate, switch off, delete.
        await admin.CreatePoolAsync("retention");
        var bad = await admin.PostRawAsync("/api/v1/alert-rules", """{"name":"x","when":{"field":"mood","op":"eq","value":"sad"},"owner":{"kind":"pool","name":"qa"},"deadline":"PT1H"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.ReadJsonAsync()).GetProperty("errors").TryGetProperty("when.field", out _));
        var created = await (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Churn threat","when":{"any":[{"field":"comment","op":"containsAny","value":["cancel my account","switching to"]},{"field":"signal","op":"eq","value":"churn_threat"}]},
             "owner":{"kind":"pool","name":"retention"},"deadline":"PT5S"}
            """)).ReadJsonAsync();
        var ruleId = created.GetProperty("id").GetInt64();
        Assert.Equal(2, (await (await admin.GetAsync("/api/v1/alert-rules")).ReadJsonAsync()).GetArrayLength() + 1);

        await admin.PostJsonAsync("/api/v1/responses", Json.Response("wh-1", "cust-wh", "csat", 3, "I will cancel my account if this happens again", site: "north"));
        var delivery = await receiver.WaitForAsync(d => d.Event == "alert.created");
        Assert.NotNull(delivery);
        Assert.Equal("sha256=" + OutboxSender.Sign(secret, delivery.Body), delivery.Signature);
        Assert.Equal("sha256=" + OutboxSender.Sign(secret, delivery.Timestamp + "." + delivery.Body), delivery.TimestampedSignature);
        Assert.False(string.IsNullOrEmpty(delivery.DeliveryId));
        // Cloud instance metadata is no place for a webhook, by address or by name.
        foreach (var url in new[] { "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook" })
        {
            var refused = await admin.PostJsonAsync("/api/v1/webhooks", new { url, events = new[] { "alert.*" } });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await refused.ReadJsonAsync()).GetProperty("errors").TryGetProperty("url", out _));
        }
        Assert.Contains("Churn threat", delivery.Body, StringComparison.Ordinal);

        var off = await admin.PutAsync($"/api/v1/alert-rules/{ruleId}", new StringContent(created.GetRawText().Replace("\"enabled\":true", "\"enabled\":false", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("wh-2", "cust-wh-2", "csat", 3, "I will cancel my account", site: "north"));
        Assert.Equal(1, (await (await admin.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items").GetArrayLength());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/alert-rules/{ruleId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/alert-rules/{ruleId}")).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARuleInTheShortFormsIsUnderstoodAndStoredInTheCanonicalOne(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();

        await admin.CreatePoolAsync("retention");
        // "condition" for "when", comparison symbols for the operators, and no owner: the team's supervisor.
        var created = await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low score","condition":{"all":[{"field":"metric","op":"==","value":"csat"},{"field":"score","op":"<=","value":2}]},"deadline":"PT2H"}
            """);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rule = await created.ReadJsonAsync();
        Assert.False(rule.TryGetProperty("condition", out _));
        // The operators are stored in their long form, and read back so from the list as well.
        Assert.Equal(["eq", "lte"], rule.GetProperty("when").GetProperty("all").EnumerateArray().Select(c => c.GetProperty("op").GetString()).ToList());
        var listed = (await (await admin.GetAsync("/api/v1/alert-rules")).ReadJsonAsync()).EnumerateArray().Single(r => r.GetProperty("name").GetString() == "Low score");
        Assert.Equal(["eq", "lte"], listed.GetProperty("when").GetProperty("all").EnumerateArray().Select(c => c.GetProperty("op").GetString()).ToList());
        Assert.Equal("teamSupervisor", rule.GetProperty("owner").GetProperty("kind").GetString());
        var nested = await (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Nested","enabled":false,"when":{"any":[{"field":"score","op":"=","value":1},{"not":{"field":"channel","op":"!=","value":"chat"}}]},"deadline":"PT2H"}
            """)).ReadJsonAsync();
        Assert.Equal("eq", nested.GetProperty("when").GetProperty("any")[0].GetProperty("op").GetString());
        Assert.Equal("neq", nested.GetProperty("when").GetProperty("any")[1].GetProperty("not").GetProperty("op").GetString());

        var pool = await (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Detractors","when":{"field":"npsCategory","op":"eq","value":"detractor"},"owner":"pool:Retention","deadline":"P1D"}
            """)).ReadJsonAsync();
        Assert.Equal("pool", pool.GetProperty("owner").GetProperty("kind").GetString());
        Assert.Equal("retention", pool.GetProperty("owner").GetProperty("name").GetString());

        var bad = await admin.PostRawAsync("/api/v1/alert-rules", """{"name":"x","when":{"field":"score","op":"=<","value":2},"owner":"nobody","deadline":"PT1H"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.ReadJsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("owner", out _));
        Assert.True(errors.TryGetProperty("when.op", out _));

        // The symbols compare as the operators they stand for: a 2 fires the first rule, a 3 does not.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("short-1", "cust-short-1", "csat", 2, null, site: "north"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("short-2", "cust-short-2", "csat", 3, null, site: "north"));
        var alerts = (await (await admin.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(["cust-short-1"], alerts.EnumerateArray().Select(a => a.GetProperty("customer").GetString()).ToList());
        Assert.Equal("Low score", alerts[0].GetProperty("rule").GetString());

        // Recovery steps by the names the log reads in, or in camelCase, under "action" as well as "type".
        var actions = $"/api/v1/alerts/{alerts[0].GetProperty("id").GetInt64()}/actions";
        var acknowledged = await admin.PostRawAsync(actions, """{"action":"acknowledged"}""");
        Assert.Equal(HttpStatusCode.OK, acknowledged.StatusCode);
        Assert.Equal("acknowledged", (await acknowledged.ReadJsonAsync()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostRawAsync(actions, """{"type":"customerReached","channel":"phone"}""")).StatusCode);
        var unknown = await admin.PostRawAsync(actions, """{"type":"dance"}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.True((await unknown.ReadJsonAsync()).GetProperty("errors").TryGetProperty("type", out _));
        var log = (await (await admin.GetAsync(actions.Replace("/actions", "", StringComparison.Ordinal))).ReadJsonAsync()).GetProperty("actions");
        Assert.Equal(["created", "acknowledge", "customer_reached"], log.EnumerateArray().Select(a => a.GetProperty("type").GetString()).ToList());
    }

    [Fact]
    public async Task AlertsOfAnotherSiteAreInvisibleToASiteScopedKey()
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(TestDatabases.Sqlite, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreatePoolAsync("recovery");
        await admin.PostRawAsync("/api/v1/alert-rules", ExampleRule);
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("scope-a", "cust-a", "csat", 1, site: "vendor-a"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("scope-b", "cust-b", "csat", 1, site: "vendor-b"));
        using var vendorA = app.Client(await app.CreateKeyAsync("site_manager", "vendor-a"));

        var visible = (await (await vendorA.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(1, visible.GetArrayLength());
        Assert.Equal("vendor-a", visible[0].GetProperty("site").GetString());
        var other = (await (await admin.GetAsync("/api/v1/alerts?site=vendor-b")).ReadJsonAsync()).GetProperty("items")[0].GetProperty("id").GetInt64();
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.GetAsync($"/api/v1/alerts/{other}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await vendorA.PostJsonAsync($"/api/v1/alerts/{other}/actions", new { type = "acknowledge" })).StatusCode);
    }

    [PostgresFact]
    public async Task TwoProcessesOnOnePostgresDatabaseShareTheOutboxWithoutSendingTwice()
    {
        using var smtp = new SmtpServer();
        var connection = TestDatabases.CreateDatabase(TestDatabases.Postgres);
        string[] settings = [$"--Smtp:Port={smtp.Port}", "--Smtp:Host=127.0.0.1", "--Outbox:BaseBackoffSeconds=0.05", "--Outbox:MaxBackoffSeconds=1"];
        await using var one = await AppProcess.StartServerAsync(TestDatabases.Postgres, connection, settings);
        await using var two = await AppProcess.StartServerAsync(TestDatabases.Postgres, connection, settings);
        using var client = one.Client();
        using var other = two.Client();
        await client.CreateUserAsync("owner@example.com", "recovery");
        await client.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Any low score","when":{"field":"score","op":"lte","value":2},"owner":{"kind":"user","email":"owner@example.com"},"deadline":"PT4H"}
            """);
        await Task.Delay(5500); // the second process reloads its rule cache every five seconds

        var posts = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? client : other).PostJsonAsync("/api/v1/responses", Json.Response($"pg-{i}", $"cust-pg-{i}", "csat", 1, "Bad", site: "north")));
        Assert.All(await Task.WhenAll(posts), r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));

        var messages = await smtp.WaitForAsync(m => m.Count >= 40, 30);
        await Task.Delay(1500);
        messages = smtp.Messages();
        Assert.Equal(40, messages.Count);
        Assert.Equal(40, messages.Select(m => m.Split('\n').First(l => l.StartsWith("Message-ID", StringComparison.OrdinalIgnoreCase)).Trim()).Distinct().Count());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task DeadlinesInWeeksAndInFractionsOfAnHourAreUnderstood(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreatePoolAsync("recovery");

        foreach (var (deadline, site, due) in new[] { ("P2W", "north", TimeSpan.FromDays(14)), ("PT1.5H", "south", TimeSpan.FromMinutes(90)), ("PT2,5M", "east", TimeSpan.FromSeconds(150)) })
        {
            var created = await admin.PostRawAsync("/api/v1/alert-rules", $$"""
                {"name":"Due in {{deadline}}","when":{"all":[{"field":"site","op":"eq","value":"{{site}}"},{"field":"score","op":"lte","value":2}]},"owner":"pool:recovery","deadline":"{{deadline}}"}
                """);
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{deadline}: {created.StatusCode} {await created.Content.ReadAsStringAsync()}");
            await admin.PostJsonAsync("/api/v1/responses", Json.Response($"due-{site}", $"cust-due-{site}", "csat", 1, site: site));
            var alert = (await (await admin.GetAsync($"/api/v1/alerts?site={site}")).ReadJsonAsync()).GetProperty("items")[0];
            Assert.Equal(Start + due, alert.GetProperty("dueAt").GetDateTimeOffset());
        }
        foreach (var bad in new[] { "P1.5DT2H", "PT", "P", "P1DT", "2 weeks" })
        {
            var refused = await admin.PostRawAsync("/api/v1/alert-rules", $$"""{"name":"Bad","when":{"field":"score","op":"lte","value":2},"owner":"pool:recovery","deadline":"{{bad}}"}""");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await refused.ReadJsonAsync()).GetProperty("errors").TryGetProperty("deadline", out _), bad);
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARuleThatAsksOneFieldForTwoValuesOrForAConditionAndItsNegationCanNeverFireAndIsRefused(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreatePoolAsync("qa");
        async Task<HttpResponseMessage> RuleAsync(string when) =>
            await admin.PostRawAsync("/api/v1/alert-rules", $$"""{"name":"r","when":{{when}},"owner":"pool:qa","deadline":"PT2H"}""");

        foreach (var never in new[]
        {
            """{"all":[{"field":"channel","op":"eq","value":"phone"},{"field":"channel","op":"eq","value":"chat"}]}""",
            """{"all":[{"field":"score","op":"lte","value":2},{"not":{"field":"score","op":"lte","value":2}}]}""",
            """{"all":[{"field":"score","op":"<=","value":2},{"not":{"field":"score","op":"lte","value":2}}]}""",
            """{"all":[{"field":"site","op":"in","value":["north","south"]},{"field":"site","op":"eq","value":"east"}]}""",
            """{"all":[{"field":"channel","op":"eq","value":"phone"},{"field":"channel","op":"neq","value":"phone"}]}""",
            """{"all":[{"field":"resolved","op":"eq","value":true},{"field":"resolved","op":"eq","value":false}]}""",
        })
        {
            var refused = await RuleAsync(never);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, never);
            Assert.Contains("can never match", (await refused.ReadJsonAsync()).GetProperty("errors").GetProperty("when")[0].GetString(), StringComparison.Ordinal);
        }
        // What can happen together is still accepted: a comment with two signals, either of two channels, a value inside a list.
        foreach (var possible in new[]
        {
            """{"all":[{"field":"signal","op":"eq","value":"churn_threat"},{"field":"signal","op":"eq","value":"legal_threat"}]}""",
            """{"any":[{"field":"channel","op":"eq","value":"phone"},{"field":"channel","op":"eq","value":"chat"}]}""",
            """{"all":[{"field":"channel","op":"in","value":["phone","chat"]},{"field":"channel","op":"eq","value":"Phone"}]}""",
            """{"all":[{"field":"score","op":"lte","value":2},{"not":{"field":"score","op":"lte","value":1}}]}""",
        })
        {
            var accepted = await RuleAsync(possible);
            Assert.True(accepted.StatusCode == HttpStatusCode.Created, $"{possible}: {await accepted.Content.ReadAsStringAsync()}");
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnEmptyQueryParameterIsNoFilter(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreatePoolAsync("recovery");
        await admin.PostRawAsync("/api/v1/alert-rules", ExampleRule);
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("empty-1", "cust-empty-1", "csat", 1, site: "north"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("empty-2", "cust-empty-2", "csat", 2, site: "south"));

        foreach (var query in new[] { "", "?status=&site=&team=&owner=&rule=&customer=", "?status=", "?site=", "?owner=", "?rule=", "?team=&customer=", "?cursor=&limit=", "?site=%20" })
        {
            var response = await admin.GetAsync($"/api/v1/alerts{query}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{query}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal(2, (await response.ReadJsonAsync()).GetProperty("items").GetArrayLength());
        }
        // A value that is given is still a filter, and a bad one is named.
        Assert.Equal(1, (await (await admin.GetAsync("/api/v1/alerts?site=north&rule=")).ReadJsonAsync()).GetProperty("items").GetArrayLength());
        Assert.Equal(1, (await (await admin.GetAsync("/api/v1/alerts?limit=1&status=")).ReadJsonAsync()).GetProperty("items").GetArrayLength());
        var bad = await admin.GetAsync("/api/v1/alerts?rule=abc&limit=x&status=late");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.ReadJsonAsync()).GetProperty("errors");
        Assert.Equal(["limit", "rule", "status"], errors.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARecoveryStepWithSeveralBadFieldsNamesEachOfThem(string provider)
    {
        using var smtp = new SmtpServer();
        var (app, _) = NewApp(provider, smtp);
        await using var __ = app;
        using var admin = app.Admin();
        await admin.CreatePoolAsync("recovery");
        await admin.PostRawAsync("/api/v1/alert-rules", ExampleRule);
        await admin.PostJsonAsync("/api/v1/responses", Json.Response("fields-1", "cust-fields", "csat", 1, site: "north"));
        var id = (await (await admin.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items")[0].GetProperty("id").GetInt64();

        async Task<List<string>> BadFieldsAsync(object body)
        {
            var response = await admin.PostJsonAsync($"/api/v1/alerts/{id}/actions", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return [.. (await response.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
        }

        Assert.Equal(["outcome", "rootCause"], await BadFieldsAsync(new { type = "resolve" }));
        Assert.Equal(["note", "outcome", "rootCause"], await BadFieldsAsync(new { type = "resolve", rootCause = "no.such-cause", note = 5 }));
        Assert.Equal(["outcome"], await BadFieldsAsync(new { type = "resolve", rootCause = "process.long-wait", outcome = "" }));
        Assert.Equal(["kind", "value"], await BadFieldsAsync(new { type = "gesture_offered", value = -5 }));
        Assert.Equal(["at", "note"], await BadFieldsAsync(new { type = "callback_scheduled", at = "tomorrow", note = new[] { "x" } }));
        // Nothing was applied along the way.
        var alert = await (await admin.GetAsync($"/api/v1/alerts/{id}")).ReadJsonAsync();
        Assert.Equal("open", alert.GetProperty("status").GetString());
        Assert.Equal(["created"], alert.GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("type").GetString()).ToList());
    }

    private static async Task<JsonElement> SlaAsync(HttpClient client) =>
        (await (await client.GetAsync("/api/v1/metrics")).ReadJsonAsync()).GetProperty("total").GetProperty("alerts").GetProperty("slaAdherence");
}
