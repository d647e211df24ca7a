using System.Net;
using Closeloop.Ingest;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

public sealed class IngestTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task ARecordWithoutTextHasANeutralSentimentAndAnIdSentWithSpacesIsReadBackAsSent(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var id = Unique.Id("r");
        var posted = await client.PostJsonAsync("/api/v1/responses", Json.Response($"  {id}  ", Unique.Id("cust"), "nps", 9, site: "north"));
        Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
        // analysis.sentiment.compound is there for every record; a score alone reads as neutral.
        var analysis = (await posted.ReadJsonAsync()).GetProperty("analysis");
        Assert.Equal(0, analysis.GetProperty("sentiment").GetProperty("compound").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Array, analysis.GetProperty("signals").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, analysis.GetProperty("rootCause").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/responses/{Uri.EscapeDataString($"  {id}  ")}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/responses/{id}")).StatusCode);

        // A survey invitation's metric of the wrong type is named, not taken as the default.
        var invitation = await client.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = Unique.Id("cust") }, metric = 7 });
        Assert.Equal(HttpStatusCode.BadRequest, invitation.StatusCode);
        Assert.True((await invitation.ReadJsonAsync()).GetProperty("errors").TryGetProperty("metric", out _));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CreatingAContactAnswers201WithItsLocationAndTheRecord(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var id = Unique.Id("c");
        var response = await client.PostJsonAsync("/api/v1/contacts", Json.Contact(id, Unique.Id("cust"), "chat", site: "north", team: "north-t1", agent: "ann", reason: "refund", resolved: true, summary: "Asked about a refund"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/api/v1/contacts/{id}", response.Headers.Location?.OriginalString);
        var body = await response.ReadJsonAsync();
        Assert.Equal(id, body.GetProperty("externalId").GetString());
        Assert.Equal("chat", body.GetProperty("channel").GetString());
        Assert.Equal("north", body.GetProperty("site").GetString());
        Assert.Equal("north-t1", body.GetProperty("team").GetString());
        Assert.Equal("ann", body.GetProperty("agent").GetString());
        Assert.Equal(1, body.GetProperty("issue").GetProperty("contactCount").GetInt32());

        var read = await client.GetAsync($"/api/v1/contacts/{id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("Asked about a refund", (await read.ReadJsonAsync()).GetProperty("summary").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task RepeatRetryOfSameExternalIdReturnsTheSameResponse(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var body = Json.Response(Unique.Id("r"), Unique.Id("cust"), "nps", 3, "Too slow", site: "north", channel: "email");

        var first = await client.PostJsonAsync("/api/v1/responses", body);
        var second = await client.PostJsonAsync("/api/v1/responses", body);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal((await first.Content.ReadAsStringAsync()), (await second.Content.ReadAsStringAsync()));
        Assert.Equal(first.Headers.Location, second.Headers.Location ?? first.Headers.Location);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TheCreatedAnswerIsTheSameRecordThatAReadReturns(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");
        var site = Unique.Id("site");
        var first = Unique.Id("c");
        var repeat = Unique.Id("c");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(first, customer, site: site, reason: "refund", summary: "I want my money back"));
        var created = await client.PostJsonAsync("/api/v1/contacts", Json.Contact(repeat, customer, "email", site: site, team: $"{site}-t", agent: $"{site}-a",
            reason: "refund", resolved: false, summary: "Second time I am asking, this is ridiculous!", at: DateTimeOffset.Parse("2026-11-03T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture)));
        var response = Unique.Id("r");
        var createdResponse = await client.PostJsonAsync("/api/v1/responses", Json.Response(response, customer, "nps", 2, "Awful, slow and rude.", contact: repeat));

        Assert.Equal(await created.Content.ReadAsStringAsync(), await (await client.GetAsync($"/api/v1/contacts/{repeat}")).Content.ReadAsStringAsync());
        Assert.Equal(await createdResponse.Content.ReadAsStringAsync(), await (await client.GetAsync($"/api/v1/responses/{response}")).Content.ReadAsStringAsync());
        var body = await createdResponse.ReadJsonAsync();
        Assert.True(body.GetProperty("analysis").GetProperty("sentiment").GetProperty("compound").GetDouble() < -0.3);
        Assert.Equal($"{site}-a", body.GetProperty("agent").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task SameExternalIdWithDifferentContentAnswers409AndKeepsTheOriginal(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var id = Unique.Id("r");
        var customer = Unique.Id("cust");
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/responses", Json.Response(id, customer, "csat", 2))).StatusCode);

        var conflict = await client.PostJsonAsync("/api/v1/responses", Json.Response(id, customer, "csat", 5));

        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
        var stored = await (await client.GetAsync($"/api/v1/responses/{id}")).ReadJsonAsync();
        Assert.Equal(2, stored.GetProperty("score").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ConcurrentRetriesOfOneExternalIdStoreItOnce(string provider)
    {
        var app = TestApp.Shared(provider);
        using var client = app.Admin();
        var id = Unique.Id("r");
        var customer = Unique.Id("cust");
        var site = Unique.Id("site");
        var body = Json.Response(id, customer, "csat", 1, "Nobody called back", site: site);

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => client.PostJsonAsync("/api/v1/responses", body)));

        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.OK }));
        var metrics = await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync();
        Assert.Equal(1, metrics.GetProperty("total").GetProperty("csat").GetProperty("n").GetInt32());
        var timeline = await (await client.GetAsync($"/api/v1/customers/{customer}/timeline")).ReadJsonAsync();
        Assert.Equal(1, timeline.GetProperty("items").GetArrayLength());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task EveryChannelIsAccepted(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        foreach (var channel in new[] { "phone", "ivr", "email", "chat", "sms", "social", "web_form", "in_person" })
        {
            var response = await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), channel));
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{channel}: {await response.Content.ReadAsStringAsync()}");
            Assert.Equal(channel, (await response.ReadJsonAsync()).GetProperty("channel").GetString());
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ScoresAtTheEdgesOfEachScaleAreAccepted(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        foreach (var (metric, score) in new[] { ("csat", 1), ("csat", 5), ("nps", 0), ("nps", 10), ("ces", 1), ("ces", 7) })
        {
            var response = await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("cust"), metric, score));
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{metric} {score}: {await response.Content.ReadAsStringAsync()}");
        }
        // A whole number written with a zero fraction (as Python writes a float) is that number, as in JSON Schema.
        var written = await client.PostRawAsync("/api/v1/responses",
            $$"""{"externalId":"{{Unique.Id("r")}}","customer":{"externalId":"{{Unique.Id("cust")}}"},"metric":"nps","score":9.0,"site":"north","channel":"chat"}""");
        Assert.Equal(HttpStatusCode.Created, written.StatusCode);
        Assert.Equal(9, (await written.ReadJsonAsync()).GetProperty("score").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AResponseAboutAContactTakesTheContactsSiteTeamAgentAndChannel(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var contact = Unique.Id("c");
        var customer = Unique.Id("cust");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(contact, customer, "sms", site: "west", team: "west-a", agent: "bob"));

        var response = await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), customer, "ces", 6, contact: contact));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(contact, body.GetProperty("contactExternalId").GetString());
        Assert.Equal("west", body.GetProperty("site").GetString());
        Assert.Equal("west-a", body.GetProperty("team").GetString());
        Assert.Equal("bob", body.GetProperty("agent").GetString());
        Assert.Equal("sms", body.GetProperty("channel").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task BatchesAnswerAResultPerItemWithPartialSuccess(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var existing = Unique.Id("r");
        var customer = Unique.Id("cust");
        await client.PostJsonAsync("/api/v1/responses", Json.Response(existing, customer, "csat", 4));
        var fresh = Unique.Id("r");
        object[] batch =
        [
            Json.Response(fresh, customer, "csat", 5),
            Json.Response(existing, customer, "csat", 4),
            Json.Response(Unique.Id("r"), customer, "csat", 9),
            Json.Response(existing, customer, "csat", 1),
        ];

        var response = await client.PostJsonAsync("/api/v1/responses/batch", batch);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(1, body.GetProperty("created").GetInt32());
        Assert.Equal(1, body.GetProperty("existing").GetInt32());
        Assert.Equal(2, body.GetProperty("failed").GetInt32());
        var results = body.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["created", "existing", "invalid", "conflict"], results.Select(r => r.GetProperty("status").GetString()));
        Assert.Equal(Enumerable.Range(0, 4), results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.True(results[2].GetProperty("errors").TryGetProperty("score", out _));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/responses/{fresh}")).StatusCode);

        // The whole batch again: nothing new, nothing lost.
        var retry = await (await client.PostJsonAsync("/api/v1/responses/batch", batch)).ReadJsonAsync();
        Assert.Equal(0, retry.GetProperty("created").GetInt32());
        Assert.Equal(2, retry.GetProperty("existing").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ABatchOfAThousandContactsIsStoredInOneCall(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var batch = Enumerable.Range(0, 1000).Select(i => Json.Contact(Unique.Id("c"), $"{site}-cust-{i % 300}", "email", site: site, reason: $"r{i % 7}")).ToArray();

        var body = await (await client.PostJsonAsync("/api/v1/contacts/batch", batch)).ReadJsonAsync();

        Assert.Equal(1000, body.GetProperty("created").GetInt32());
        var metrics = await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync();
        Assert.True(metrics.GetProperty("total").GetProperty("fcr").GetProperty("n").GetInt32() > 0);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CustomersAreCreatedOnFirstSightAndKeepTheirContactPoints(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");
        await client.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"),
            customer = new { externalId = customer, name = "Dana Reyes", email = "Dana@Example.com" },
            channel = "email",
            occurredAt = "2026-11-01T09:00:00Z",
        });
        await client.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("c"),
            customer = new { externalId = customer, phone = "+15550001", handle = "@dana" },
            channel = "social",
            occurredAt = "2026-11-02T09:00:00Z",
        });

        var profile = await (await client.GetAsync($"/api/v1/customers/{customer}")).ReadJsonAsync();

        Assert.Equal("Dana Reyes", profile.GetProperty("name").GetString());
        var points = profile.GetProperty("contactPoints").EnumerateArray().ToDictionary(p => p.GetProperty("channel").GetString()!, p => p.GetProperty("value").GetString());
        Assert.Equal("dana@example.com", points["email"]);
        Assert.Equal("+15550001", points["phone"]);
        Assert.Equal("@dana", points["social"]);
        Assert.Equal(2, profile.GetProperty("contacts").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task SitesTeamsAndAgentsAreCreatedOnFirstSightAndListed(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: site, team: $"{site}-team", agent: $"{site}-agent"));

        var siteBody = await (await client.GetAsync($"/api/v1/sites/{site}")).ReadJsonAsync();
        Assert.Equal("in_house", siteBody.GetProperty("kind").GetString());
        var team = await (await client.GetAsync($"/api/v1/teams/{site}-team")).ReadJsonAsync();
        Assert.Equal(site, team.GetProperty("site").GetString());
        var agent = await (await client.GetAsync($"/api/v1/agents/{site}-agent")).ReadJsonAsync();
        Assert.Equal($"{site}-team", agent.GetProperty("team").GetString());
        var sites = await (await client.GetAsync("/api/v1/sites")).ReadJsonAsync();
        Assert.Contains(sites.EnumerateArray(), s => s.GetProperty("code").GetString() == site);

        var vendor = await client.PutAsync($"/api/v1/sites/{site}", System.Net.Http.Json.JsonContent.Create(new { name = "Acme BPO", kind = "vendor", timeZone = "Asia/Manila" }));
        Assert.Equal(HttpStatusCode.OK, vendor.StatusCode);
        Assert.Equal("vendor", (await vendor.ReadJsonAsync()).GetProperty("kind").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task RecordsAndCustomersWhoseIdsHoldSlashesCanBeReadAtTheirLocation(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var contactId = $"ACME/{Unique.Id("call")}/1";
        var responseId = $"survey/{Unique.Id("r")}";
        var customer = $"CRM/{Unique.Id("cust")} x";

        var contact = await client.PostJsonAsync("/api/v1/contacts", Json.Contact(contactId, customer));
        Assert.Equal(HttpStatusCode.Created, contact.StatusCode);
        var response = await client.PostJsonAsync("/api/v1/responses", Json.Response(responseId, customer, "csat", 4, contact: contactId));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var read = await client.GetAsync(contact.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(contactId, (await read.ReadJsonAsync()).GetProperty("externalId").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(response.Headers.Location)).StatusCode);
        var escaped = Uri.EscapeDataString(customer);
        Assert.Equal(customer, (await (await client.GetAsync($"/api/v1/customers/{escaped}")).ReadJsonAsync()).GetProperty("externalId").GetString());
        var timeline = await (await client.GetAsync($"/api/v1/customers/{escaped}/timeline")).ReadJsonAsync();
        Assert.Equal(customer, timeline.GetProperty("customerExternalId").GetString());
        Assert.Equal(2, timeline.GetProperty("items").GetArrayLength());
    }

    /// <summary>
    /// The writer commits the records of concurrent requests together, and on PostgreSQL it sends a commit's new
    /// customers and responses to the server only at its end. A commit that holds a new customer's contact, a response
    /// about that contact, a second new customer whose later record changes the profile before it is inserted, and
    /// repeats of one record must store each thing once, as one record at a time would. A second store is the writer
    /// here (the app's own keeps running), as another process would be.
    /// </summary>
    [Theory, MemberData(nameof(Providers))]
    public async Task OneCommitOfNewCustomersTheirContactAResponseAboutItAndRepeatsStoresEachOnce(string provider)
    {
        var app = TestApp.Shared(provider);
        await using var store = ActivatorUtilities.CreateInstance<IngestStore>(app.Services);
        var (contact, x, y, first, later, repeated) = (Unique.Id("c"), Unique.Id("cust"), Unique.Id("cust"), Unique.Id("r"), Unique.Id("r"), Unique.Id("r"));
        var at = new DateTimeOffset(2026, 11, 3, 9, 0, 0, TimeSpan.Zero);
        ResponseItem Response(string id, string customer, int score, string? email = null, string? contactId = null, int minutes = 0) =>
            new(new ResponseInput(id, new CustomerInput(customer, null, email, null, null), "csat", score, null,
                at.AddMinutes(minutes), contactId, contactId is null ? "north" : null, null, null, contactId is null ? "email" : null), null);
        var jobs = new List<IReadOnlyList<IngestItem>>
        {
            new IngestItem[]
            {
                new ContactItem(new ContactInput(contact, new CustomerInput(x, "Ola Berg", null, null, null), "phone", at,
                    "north", null, null, null, "refund", null, null, true, null), null),
            },
            new IngestItem[]
            {
                Response(first, x, 2, contactId: contact, minutes: 5),
                Response(repeated, y, 4, email: "old@example.com", minutes: 1),
                Response(later, y, 5, email: "new@example.com", minutes: 2),
                Response(repeated, y, 4, email: "old@example.com", minutes: 1),
                Response(repeated, y, 1, email: "old@example.com", minutes: 1),
            },
        };

        var outcomes = await store.WriteAsync(jobs, [WriteScope.Unrestricted, WriteScope.Unrestricted], CancellationToken.None);

        Assert.Equal(IngestStatus.Created, outcomes[0][0].Status);
        Assert.Equal([IngestStatus.Created, IngestStatus.Created, IngestStatus.Created,
            IngestStatus.Existing, IngestStatus.Conflict], outcomes[1].Select(o => o.Status));
        Assert.Equal(outcomes[1][1].Id, outcomes[1][3].Id);
        using var client = app.Admin();
        var response = await (await client.GetAsync($"/api/v1/responses/{first}")).ReadJsonAsync();
        Assert.Equal(contact, response.GetProperty("contactExternalId").GetString());
        Assert.Equal(x, response.GetProperty("customer").GetProperty("externalId").GetString());
        var ola = await (await client.GetAsync($"/api/v1/customers/{x}")).ReadJsonAsync();
        Assert.Equal(("Ola Berg", 1, 1), (ola.GetProperty("name").GetString(), ola.GetProperty("contacts").GetInt32(), ola.GetProperty("responses").GetInt32()));
        var second = await (await client.GetAsync($"/api/v1/customers/{y}")).ReadJsonAsync();
        Assert.Equal("new@example.com", second.GetProperty("contactPoints").EnumerateArray().Single(p => p.GetProperty("channel").GetString() == "email").GetProperty("value").GetString());
        Assert.Equal(2, second.GetProperty("responses").GetInt32());
        var timeline = await (await client.GetAsync($"/api/v1/customers/{y}/timeline")).ReadJsonAsync();
        Assert.Equal([later, repeated], timeline.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("response").GetProperty("externalId").GetString()));
    }
}
