using System.Globalization;
using System.Net;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

public sealed class TimelineTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task TheTimelineJoinsEveryChannelNewestFirstAndPagesWithACursor(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");
        var start = DateTimeOffset.Parse("2026-10-01T00:00:00Z", CultureInfo.InvariantCulture);
        var channels = new[] { "phone", "email", "chat", "sms", "social", "web_form", "ivr", "in_person" };
        var expected = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var contact = $"{customer}-c{i}";
            await client.PostJsonAsync("/api/v1/contacts", Json.Contact(contact, customer, channels[i], at: start.AddHours(i * 5)));
            expected.Add(contact);
            if (i % 2 == 0)
            {
                var response = $"{customer}-r{i}";
                await client.PostJsonAsync("/api/v1/responses", Json.Response(response, customer, "csat", 4, at: start.AddHours((i * 5) + 1), contact: contact));
                expected.Add(response);
            }
        }
        // Two records at the same instant must both appear exactly once across pages.
        await client.PostJsonAsync("/api/v1/responses", Json.Response($"{customer}-same", customer, "nps", 9, at: start.AddHours(5), channel: "email"));
        expected.Add($"{customer}-same");
        expected.Reverse();

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await (await client.GetAsync($"/api/v1/customers/{customer}/timeline?limit=4" + (cursor is null ? "" : $"&cursor={cursor}"))).ReadJsonAsync();
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                var kind = item.GetProperty("kind").GetString()!;
                seen.Add(item.GetProperty(kind).GetProperty("externalId").GetString()!);
            }
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(13, seen.Count);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(expected.Order(), seen.Order());
        var times = new List<DateTimeOffset>();
        foreach (var id in seen)
        {
            // The customer id itself may contain "-c" (its random part can start with c), so look after it.
            var isContact = id.StartsWith($"{customer}-c", StringComparison.Ordinal);
            var body = await (await client.GetAsync(isContact ? $"/api/v1/contacts/{id}" : $"/api/v1/responses/{id}")).ReadJsonAsync();
            times.Add(body.GetProperty(isContact ? "occurredAt" : "respondedAt").GetDateTimeOffset());
        }
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.Equal(4, pages);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TheProfileKeepsTheDetailsOfTheNewestRecordByItsTimeNotByItsArrival(string provider)
    {
        using var admin = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");
        var at = DateTimeOffset.Parse("2026-11-12T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        object Contact(DateTimeOffset when, object details) => new { externalId = Unique.Id("c"), customer = details, channel = "email", occurredAt = when };
        async Task<string> ProfileAsync() => (await (await admin.GetAsync($"/api/v1/customers/{customer}")).ReadJsonAsync()).GetRawText();

        (await admin.PostJsonAsync("/api/v1/contacts", Contact(at, new { externalId = customer, name = "Alice New", email = "alice.new@example.com" }))).EnsureSuccessStatusCode();
        // A backfill of last month's history arrives afterwards: it fills the phone the profile lacked, and changes nothing else.
        (await admin.PostJsonAsync("/api/v1/contacts", Contact(at.AddDays(-11), new { externalId = customer, name = "Alice Old", email = "alice.old@example.com", phone = "+1 555 0100" }))).EnsureSuccessStatusCode();
        var profile = await ProfileAsync();
        Assert.Contains("Alice New", profile, StringComparison.Ordinal);
        Assert.Contains("alice.new@example.com", profile, StringComparison.Ordinal);
        Assert.Contains("+1 555 0100", profile, StringComparison.Ordinal);
        Assert.DoesNotContain("alice.old@example.com", profile, StringComparison.Ordinal);
        // A newer record wins.
        (await admin.PostJsonAsync("/api/v1/contacts", Contact(at.AddDays(1), new { externalId = customer, email = "alice@new-job.example.com" }))).EnsureSuccessStatusCode();
        Assert.Contains("alice@new-job.example.com", await ProfileAsync(), StringComparison.Ordinal);
        // A newer record still names the same address: nothing changes, but the address is now confirmed as of day 3,
        // so a record of day 2 that arrives after it (another backfill) may not bring in a different one.
        (await admin.PostJsonAsync("/api/v1/contacts", Contact(at.AddDays(3), new { externalId = customer, email = "alice@new-job.example.com" }))).EnsureSuccessStatusCode();
        (await admin.PostJsonAsync("/api/v1/contacts", Contact(at.AddDays(2), new { externalId = customer, email = "alice@stale.example.com" }))).EnsureSuccessStatusCode();
        profile = await ProfileAsync();
        Assert.Contains("alice@new-job.example.com", profile, StringComparison.Ordinal);
        Assert.DoesNotContain("alice@stale.example.com", profile, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AlertsAndNotesJoinTheTimelineWhenAskedAndPageWithTheRest(string provider)
    {
        // Its own app: the rule would fire for every other test's records in the shared one.
        await using var app = new TestApp(provider);
        using var admin = app.Admin();
        var customer = Unique.Id("cust");
        var start = DateTimeOffset.UtcNow.AddHours(-6);
        await admin.CreatePoolAsync("recovery");
        (await admin.PostRawAsync("/api/v1/alert-rules", """
            {"name":"Low CSAT","when":{"field":"score","op":"lte","value":2},"owner":{"kind":"pool","name":"recovery"},"deadline":"PT2H"}
            """)).EnsureSuccessStatusCode();
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact($"{customer}-c1", customer, "phone", at: start, site: "north"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response($"{customer}-r1", customer, "csat", 1, "Nobody called me back", at: start.AddHours(1), contact: $"{customer}-c1"));
        await admin.PostJsonAsync("/api/v1/responses", Json.Response($"{customer}-r2", customer, "csat", 5, at: start.AddHours(2), contact: $"{customer}-c1"));
        // The same rule at another site raises an alert of its own there (an alert absorbs only its own site's records),
        // and a key of north must not see it.
        await admin.PostJsonAsync("/api/v1/responses", Json.Response($"{customer}-r3", customer, "csat", 2, at: start.AddHours(3), site: "south", channel: "chat"));
        var alerts = (await (await admin.GetAsync($"/api/v1/alerts?customer={customer}")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(2, alerts.GetArrayLength());
        var northAlert = alerts.EnumerateArray().Single(a => a.GetProperty("site").GetString() == "north").GetProperty("id").GetInt64();
        (await admin.PostRawAsync($"/api/v1/alerts/{northAlert}/actions", """{"type":"gesture_offered","kind":"voucher","value":10}""")).EnsureSuccessStatusCode();
        (await admin.PostJsonAsync($"/api/v1/customers/{customer}/notes", new { kind = "preference", text = "Prefers a call after 6 pm <b>sharp</b>" })).EnsureSuccessStatusCode();

        async Task<List<(string Kind, string Key)>> ReadAllAsync(HttpClient client, string query)
        {
            var seen = new List<(string, string)>();
            string? cursor = null;
            do
            {
                var page = await (await client.GetAsync($"/api/v1/customers/{customer}/timeline?limit=2&{query}" + (cursor is null ? "" : $"&cursor={cursor}"))).ReadJsonAsync();
                foreach (var item in page.GetProperty("items").EnumerateArray())
                {
                    var kind = item.GetProperty("kind").GetString()!;
                    var body = item.GetProperty(kind);
                    seen.Add((kind, kind switch
                    {
                        "alert" => body.GetProperty("trigger").GetProperty("externalId").GetString()!,
                        "note" => body.GetProperty("text").GetString()!,
                        _ => body.GetProperty("externalId").GetString()!,
                    }));
                    Assert.Equal(kind is "contact" or "response", !item.TryGetProperty("alert", out _) && !item.TryGetProperty("note", out _));
                }
                cursor = page.GetProperty("nextCursor").GetString();
            }
            while (cursor is not null);
            return seen;
        }

        // By default only contacts and responses, as before.
        Assert.Equal(["response", "response", "response", "contact"], (await ReadAllAsync(admin, "")).Select(x => x.Kind).ToList());

        // With alerts and notes, newest first: the note was written now, each alert when its response arrived (now).
        var all = await ReadAllAsync(admin, "include=alerts,notes");
        Assert.Equal(7, all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(("note", "Prefers a call after 6 pm <b>sharp</b>"), all[0]);
        Assert.Equal(["r3", "r1"], all.Where(x => x.Kind == "alert").Select(x => x.Key[(customer.Length + 1)..]).ToList());
        Assert.Equal(["r3", "r2", "r1", "c1"], all.Where(x => x.Kind is "contact" or "response").Select(x => x.Key[(customer.Length + 1)..]).ToList());
        var first = await (await admin.GetAsync($"/api/v1/customers/{customer}/timeline?include=alerts")).ReadJsonAsync();
        var north = first.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("kind").GetString() == "alert" && i.GetProperty("alert").GetProperty("id").GetInt64() == northAlert);
        Assert.Contains("gesture_offered", north.GetProperty("alert").GetProperty("actions").EnumerateArray().Select(a => a.GetProperty("type").GetString()));

        // A key of north sees north's records and alert, and the note written centrally.
        using var northKey = app.Client(await app.CreateKeyAsync("supervisor", "north"));
        var seenByNorth = await ReadAllAsync(northKey, "include=notes,alerts");
        Assert.Equal(["note", "alert", "response", "response", "contact"], seenByNorth.Select(x => x.Kind).ToList());
        Assert.DoesNotContain(seenByNorth, x => x.Key.EndsWith("-r3", StringComparison.Ordinal));

        var bad = await admin.GetAsync($"/api/v1/customers/{customer}/timeline?include=alerts,gestures");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.ReadJsonAsync()).GetProperty("errors").TryGetProperty("include", out _));
    }

    [Fact]
    public async Task AnUnknownCustomerOrABadCursorIsAnswered()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();
        var customer = Unique.Id("cust");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer));

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/customers/nobody-at-all/timeline")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/customers/nobody-at-all")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/v1/customers/{customer}/timeline?cursor=%%%")).StatusCode);
        // Well-formed, but an instant no date can hold: refused like any other cursor the API did not hand out.
        foreach (var text in new[] { "99999999999999999:1:1", "-99999999999999999:1:1" })
        {
            var forged = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/v1/customers/{customer}/timeline?cursor={forged}")).StatusCode);
        }
    }
}
