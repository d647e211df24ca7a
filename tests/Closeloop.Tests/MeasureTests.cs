using System.Globalization;
using System.Net;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

public sealed class MeasureTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    private static JsonElement Figure(JsonElement report, string metric) => report.GetProperty("total").GetProperty(metric);

    [Theory, MemberData(nameof(Providers))]
    public async Task CsatNpsAndCesAreComputedAsTheIndustryDefinesThem(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var customer = Unique.Id("cust");
        // CSAT 1..5: 5,4,4,3,1 -> top-two box 3 of 5 = 60%.
        // NPS 0..10: 10,9,8,7,6,0,9 -> promoters 3, passives 2, detractors 2, n 7 -> (3-2)/7 = 14.2857%.
        // CES 1..7: 7,5,4,2 -> 5-7 is 2 of 4 = 50%, mean 4.5.
        var scores = new[] { ("csat", 5), ("csat", 4), ("csat", 4), ("csat", 3), ("csat", 1), ("nps", 10), ("nps", 9), ("nps", 8), ("nps", 7), ("nps", 6), ("nps", 0), ("nps", 9), ("ces", 7), ("ces", 5), ("ces", 4), ("ces", 2) };
        var batch = scores.Select((s, i) => Json.Response(Unique.Id("r"), customer, s.Item1, s.Item2, site: site, at: At("2026-10-05T08:00:00Z").AddHours(i))).ToArray();
        Assert.Equal(16, (await (await client.PostJsonAsync("/api/v1/responses/batch", batch)).ReadJsonAsync()).GetProperty("created").GetInt32());

        var report = await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync();

        Assert.Equal(60.0, Figure(report, "csat").GetProperty("value").GetDouble(), 6);
        Assert.Equal(5, Figure(report, "csat").GetProperty("n").GetInt32());
        Assert.Equal(100.0 / 7, Figure(report, "nps").GetProperty("value").GetDouble(), 6);
        Assert.Equal(7, Figure(report, "nps").GetProperty("n").GetInt32());
        Assert.Equal(3, Figure(report, "nps").GetProperty("promoters").GetInt32());
        Assert.Equal(2, Figure(report, "nps").GetProperty("passives").GetInt32());
        Assert.Equal(2, Figure(report, "nps").GetProperty("detractors").GetInt32());
        Assert.Equal(50.0, Figure(report, "ces").GetProperty("value").GetDouble(), 6);
        Assert.Equal(4.5, Figure(report, "ces").GetProperty("mean").GetDouble(), 6);
        Assert.Equal(4, Figure(report, "ces").GetProperty("n").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AFigureWithNoAnswersIsNullWithACountOfZero(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("cust"), "csat", 5, site: site));

        var report = await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync();

        Assert.Equal(JsonValueKind.Null, Figure(report, "nps").GetProperty("value").ValueKind);
        Assert.Equal(0, Figure(report, "nps").GetProperty("n").GetInt32());
        Assert.Equal(100.0, Figure(report, "csat").GetProperty("value").GetDouble());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task MeasuresGroupBySiteTeamAgentChannelAndDay(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var prefix = Unique.Id("g");
        var (siteA, siteB) = ($"{prefix}-a", $"{prefix}-b");
        object[] batch =
        [
            Json.Response(Unique.Id("r"), "c1", "csat", 5, site: siteA, team: $"{siteA}-t", agent: $"{siteA}-x", channel: "chat", at: At("2026-09-01T10:00:00Z")),
            Json.Response(Unique.Id("r"), "c2", "csat", 1, site: siteA, team: $"{siteA}-t", agent: $"{siteA}-y", channel: "phone", at: At("2026-09-01T23:59:00Z")),
            Json.Response(Unique.Id("r"), "c3", "csat", 4, site: siteB, team: $"{siteB}-t", agent: $"{siteB}-z", channel: "chat", at: At("2026-09-02T00:01:00Z")),
        ];
        await client.PostJsonAsync("/api/v1/responses/batch", batch);

        async Task<Dictionary<string, (double Value, int N)>> Groups(string by)
        {
            var report = await (await client.GetAsync($"/api/v1/metrics?from=2026-09-01&to=2026-09-02&groupBy={by}")).ReadJsonAsync();
            return report.GetProperty("groups").EnumerateArray()
                .Where(g => g.GetProperty("key").ValueKind == JsonValueKind.String && (by is "day" or "channel" || g.GetProperty("key").GetString()!.StartsWith(prefix, StringComparison.Ordinal)))
                .ToDictionary(g => g.GetProperty("key").GetString()!, g => (g.GetProperty("csat").GetProperty("value").GetDouble(), g.GetProperty("csat").GetProperty("n").GetInt32()));
        }

        var bySite = await Groups("site");
        Assert.Equal((50.0, 2), bySite[siteA]);
        Assert.Equal((100.0, 1), bySite[siteB]);
        var byAgent = await Groups("agent");
        Assert.Equal((100.0, 1), byAgent[$"{siteA}-x"]);
        Assert.Equal((0.0, 1), byAgent[$"{siteA}-y"]);
        var byTeam = await Groups("team");
        Assert.Equal((50.0, 2), byTeam[$"{siteA}-t"]);

        // Channel and day groups mix in other tests' data on the shared database: check this test's site alone.
        var scoped = await (await client.GetAsync($"/api/v1/metrics?from=2026-09-01&to=2026-09-02&groupBy=day&site={siteA}")).ReadJsonAsync();
        var days = scoped.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("key").GetString()!, g => g.GetProperty("csat").GetProperty("n").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["2026-09-01"] = 2 }, days);
        var channels = await (await client.GetAsync($"/api/v1/metrics?groupBy=channel&site={siteA}")).ReadJsonAsync();
        Assert.Equal(["chat", "phone"], channels.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("key").GetString()).Order());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task APeriodWithPartialDaysCountsExactlyTheResponsesInside(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var times = new[] { "2026-08-01T05:00:00Z", "2026-08-01T18:00:00Z", "2026-08-02T12:00:00Z", "2026-08-03T09:59:59Z", "2026-08-03T10:00:00Z", "2026-08-04T01:00:00Z" };
        await client.PostJsonAsync("/api/v1/responses/batch", times.Select(t => Json.Response(Unique.Id("r"), "c", "csat", 5, site: site, at: At(t))).ToArray());

        async Task<int> Count(string query) =>
            Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}&{query}")).ReadJsonAsync(), "csat").GetProperty("n").GetInt32();

        Assert.Equal(6, await Count(""));
        Assert.Equal(3, await Count("from=2026-08-01T12:00:00Z&to=2026-08-03T10:00:00Z"));
        Assert.Equal(1, await Count("from=2026-08-03T09:00:00Z&to=2026-08-03T10:00:00Z"));
        Assert.Equal(3, await Count("from=2026-08-02&to=2026-08-03"));
        Assert.Equal(2, await Count("from=2026-08-01&to=2026-08-01"));
        Assert.Equal(0, await Count("from=2026-08-05"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ARepeatContactOnTheSameReasonWithinSevenDaysJoinsTheIssueAndFailsFcr(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var customer = Unique.Id("cust");
        var other = Unique.Id("cust");
        async Task<JsonElement> Post(string id, string who, string reason, string at, bool? resolved = true) =>
            await (await client.PostJsonAsync("/api/v1/contacts", Json.Contact(id, who, site: site, agent: $"{site}-agent", reason: reason, resolved: resolved, at: At(at)))).ReadJsonAsync();

        var first = await Post("first-" + site, customer, "billing", "2026-07-01T09:00:00Z");
        var repeat = await Post("repeat-" + site, customer, "billing", "2026-07-07T08:00:00Z");
        var later = await Post("later-" + site, customer, "billing", "2026-07-15T09:00:00Z");
        var otherReason = await Post("other-reason-" + site, customer, "delivery", "2026-07-02T09:00:00Z");
        var otherCustomer = await Post("other-customer-" + site, other, "billing", "2026-07-02T09:00:00Z");
        var unresolved = await Post("unresolved-" + site, other, "password", "2026-07-03T09:00:00Z", resolved: false);

        Assert.Equal(first.GetProperty("issue").GetProperty("id").GetInt64(), repeat.GetProperty("issue").GetProperty("id").GetInt64());
        Assert.Equal(2, repeat.GetProperty("issue").GetProperty("contactCount").GetInt32());
        Assert.NotEqual(first.GetProperty("issue").GetProperty("id").GetInt64(), later.GetProperty("issue").GetProperty("id").GetInt64());
        Assert.NotEqual(first.GetProperty("issue").GetProperty("id").GetInt64(), otherReason.GetProperty("issue").GetProperty("id").GetInt64());
        Assert.NotEqual(first.GetProperty("issue").GetProperty("id").GetInt64(), otherCustomer.GetProperty("issue").GetProperty("id").GetInt64());
        Assert.Equal(2, (await (await client.GetAsync($"/api/v1/contacts/first-{site}")).ReadJsonAsync()).GetProperty("issue").GetProperty("contactCount").GetInt32());

        // Issues: billing#1 (2 contacts: not FCR), billing#2 (FCR), delivery (FCR), other's billing (FCR), password (unresolved: not FCR).
        var report = await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync();
        var fcr = Figure(report, "fcr");
        Assert.Equal(5, fcr.GetProperty("n").GetInt32());
        Assert.Equal(3, fcr.GetProperty("resolved").GetInt32());
        Assert.Equal(60.0, fcr.GetProperty("value").GetDouble(), 6);

        // A period that holds only July 1 to 3 counts the issues first contacted then, the same way from raw rows.
        var partial = Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}&from=2026-07-01T08:00:00Z&to=2026-07-03T12:00:00Z")).ReadJsonAsync(), "fcr");
        Assert.Equal(4, partial.GetProperty("n").GetInt32());
        Assert.Equal(2, partial.GetProperty("resolved").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TwoProcessesOnOneDatabaseChainAKnownCustomersRepeatIntoOneIssue(string provider)
    {
        // PRODUCT.md's scale: several processes may write to one PostgreSQL database (and the CLI beside a server on
        // one SQLite file). Each known customer's first contact and its repeat go to different processes at once.
        await using var first = new TestApp(provider);
        await using var second = new TestApp(provider, new Dictionary<string, string?> { ["ConnectionStrings:Closeloop"] = first.ConnectionString });
        using var a = first.Admin();
        using var b = second.Admin();
        const int customers = 40;
        var site = Unique.Id("race");
        for (var i = 0; i < customers; i++)
        {
            // Known to both processes' caches before the race.
            var known = Json.Contact($"{site}-known-{i}", $"{site}-c{i}", site: site, reason: "setup", at: At("2026-03-01T09:00:00Z"));
            Assert.Equal(HttpStatusCode.Created, (await a.PostJsonAsync("/api/v1/contacts", known)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await b.PostJsonAsync("/api/v1/contacts", known)).StatusCode);
        }

        await Task.WhenAll(Enumerable.Range(0, customers).Select(async i =>
        {
            var answers = await Task.WhenAll(
                a.PostJsonAsync("/api/v1/contacts", Json.Contact($"{site}-a-{i}", $"{site}-c{i}", site: site, reason: "late delivery", resolved: true, at: At("2026-05-01T09:00:00Z"))),
                b.PostJsonAsync("/api/v1/contacts", Json.Contact($"{site}-b-{i}", $"{site}-c{i}", site: site, reason: "late delivery", resolved: true, at: At("2026-05-03T09:00:00Z"))));
            Assert.All(answers, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        }));

        // Every customer came back within 7 days: one issue each, none resolved on first contact.
        var fcr = Figure(await (await a.GetAsync($"/api/v1/metrics?site={site}&from=2026-05-01&to=2026-05-31")).ReadJsonAsync(), "fcr");
        Assert.Equal(customers, fcr.GetProperty("n").GetInt32());
        Assert.Equal(0, fcr.GetProperty("resolved").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TwoProcessesCountingIntoTheSameRollupCellsInOppositeOrdersLoseNothing(string provider)
    {
        // Each writer holds the rollup cells it updates until it commits. Two processes whose batches name the same
        // cells in opposite orders could each wait for the other (PostgreSQL then fails one of them) unless both
        // update cells in one order. The race is narrow (this test did not hit it on this machine without the
        // ordering either), so what it holds is the outcome: every record of both processes counted exactly once.
        await using var first = new TestApp(provider);
        await using var second = new TestApp(provider, new Dictionary<string, string?> { ["ConnectionStrings:Closeloop"] = first.ConnectionString });
        using var a = first.Admin();
        using var b = second.Admin();
        var site = Unique.Id("cells");
        const int cells = 120, rounds = 12;
        object Record(string process, int round, int cell) => Json.Response($"{site}-{process}-{round}-{cell}", $"{site}-c{cell}", "csat", cell % 5 + 1,
            at: At("2026-06-01T09:00:00Z").AddDays(cell % 10), site: site, team: $"{site}-t{cell % 4}", agent: $"{site}-a{cell}");
        // Every cell exists before the race, so each batch updates rows rather than inserting them.
        Assert.Equal(HttpStatusCode.OK, (await a.PostJsonAsync("/api/v1/responses/batch", Enumerable.Range(0, cells).Select(c => Record("setup", 0, c)).ToArray())).StatusCode);

        await Task.WhenAll(Enumerable.Range(1, rounds).Select(async round =>
        {
            var answers = await Task.WhenAll(
                a.PostJsonAsync("/api/v1/responses/batch", Enumerable.Range(0, cells).Select(c => Record("a", round, c)).ToArray()),
                b.PostJsonAsync("/api/v1/responses/batch", Enumerable.Range(0, cells).Reverse().Select(c => Record("b", round, c)).ToArray()));
            foreach (var answer in answers)
            {
                Assert.True(answer.StatusCode == HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
                Assert.Equal(cells, (await answer.ReadJsonAsync()).GetProperty("created").GetInt32());
            }
        }));

        var csat = Figure(await (await a.GetAsync($"/api/v1/metrics?site={site}&from=2026-06-01&to=2026-06-30")).ReadJsonAsync(), "csat");
        Assert.Equal(cells * (1 + 2 * rounds), csat.GetProperty("n").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AContactThatArrivesAfterItsRepeatStillStartsTheIssue(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var customer = Unique.Id("cust");
        async Task<JsonElement> Get(string id) => await (await client.GetAsync($"/api/v1/contacts/{id}")).ReadJsonAsync();

        // A CRM export newest first: the repeat of June 4 comes in before the first contact of June 2, in one batch,
        // and the reasons differ only in case.
        var batch = await client.PostJsonAsync("/api/v1/contacts/batch", new[]
        {
            Json.Contact("late-" + site, customer, site: site, reason: "Card_Arrival", at: At("2026-06-04T10:00:00Z"), agent: site + "-b"),
            Json.Contact("early-" + site, customer, site: site, reason: "card_arrival", resolved: true, at: At("2026-06-02T10:00:00Z"), agent: site + "-a"),
        });
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        // And singly: a third contact, three days before the first, comes in last.
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/contacts",
            Json.Contact("earliest-" + site, customer, site: site, reason: "CARD_ARRIVAL", at: At("2026-05-30T10:00:00Z"), agent: site + "-a"))).StatusCode);

        var issue = (await Get("late-" + site)).GetProperty("issue");
        Assert.Equal(issue.GetProperty("id").GetInt64(), (await Get("early-" + site)).GetProperty("issue").GetProperty("id").GetInt64());
        Assert.Equal(issue.GetProperty("id").GetInt64(), (await Get("earliest-" + site)).GetProperty("issue").GetProperty("id").GetInt64());
        Assert.Equal(3, issue.GetProperty("contactCount").GetInt32());

        // One issue, not resolved at first contact, counted on the day and agent of its first contact.
        var fcr = Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync(), "fcr");
        Assert.Equal(1, fcr.GetProperty("n").GetInt32());
        Assert.Equal(0, fcr.GetProperty("resolved").GetInt32());
        var byDay = await (await client.GetAsync($"/api/v1/metrics?site={site}&groupBy=day")).ReadJsonAsync();
        var days = byDay.GetProperty("groups").EnumerateArray().Where(g => g.GetProperty("fcr").GetProperty("n").GetInt32() > 0).ToList();
        Assert.Equal("2026-05-30", Assert.Single(days).GetProperty("key").GetString());
        var byAgent = await (await client.GetAsync($"/api/v1/metrics?site={site}&groupBy=agent")).ReadJsonAsync();
        var agents = byAgent.GetProperty("groups").EnumerateArray().Where(g => g.GetProperty("fcr").GetProperty("n").GetInt32() > 0).ToList();
        Assert.Equal(site + "-a", Assert.Single(agents).GetProperty("key").GetString());
        // The rollups and the raw rows agree (a period that cuts into the first day is computed from the rows).
        var partial = Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}&from=2026-05-30T09:00:00Z&to=2026-06-05")).ReadJsonAsync(), "fcr");
        Assert.Equal(1, partial.GetProperty("n").GetInt32());
        Assert.Equal(0, partial.GetProperty("resolved").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AContactThatArrivesLateBetweenTwoIssuesJoinsThemIntoOneAsInOrder(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var customer = Unique.Id("cust");
        async Task<JsonElement> Issue(string id) => (await (await client.GetAsync($"/api/v1/contacts/{id}")).ReadJsonAsync()).GetProperty("issue");
        async Task<JsonElement> Fcr(string query) => Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}{query}")).ReadJsonAsync(), "fcr");

        // June 1 and June 10 are nine days apart: two issues, each resolved at first contact.
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact("a-" + site, customer, site: site, reason: "billing", resolved: true, at: At("2026-06-01T10:00:00Z"), agent: site + "-a"));
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact("c-" + site, customer, site: site, reason: "billing", resolved: true, at: At("2026-06-10T10:00:00Z"), agent: site + "-c"));
        Assert.NotEqual((await Issue("a-" + site)).GetProperty("id").GetInt64(), (await Issue("c-" + site)).GetProperty("id").GetInt64());
        Assert.Equal(2, (await Fcr("")).GetProperty("resolved").GetInt32());

        // June 5 arrives last, within the window of both: in time order June 10 would have been its repeat.
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact("b-" + site, customer, site: site, reason: "Billing", at: At("2026-06-05T10:00:00Z"), agent: site + "-b"));
        var issue = await Issue("c-" + site);
        Assert.Equal((await Issue("a-" + site)).GetProperty("id").GetInt64(), issue.GetProperty("id").GetInt64());
        Assert.Equal((await Issue("b-" + site)).GetProperty("id").GetInt64(), issue.GetProperty("id").GetInt64());
        Assert.Equal(3, issue.GetProperty("contactCount").GetInt32());
        Assert.Equal(At("2026-06-01T10:00:00Z"), issue.GetProperty("firstAt").GetDateTimeOffset());
        var fcr = await Fcr("");
        Assert.Equal(1, fcr.GetProperty("n").GetInt32());
        Assert.Equal(0, fcr.GetProperty("resolved").GetInt32());
        // The same from the rollups of each day and agent, and from the raw rows of a period that cuts into a day.
        var byAgent = await (await client.GetAsync($"/api/v1/metrics?site={site}&groupBy=agent")).ReadJsonAsync();
        Assert.Equal(site + "-a", Assert.Single(byAgent.GetProperty("groups").EnumerateArray(), g => g.GetProperty("fcr").GetProperty("n").GetInt32() > 0).GetProperty("key").GetString());
        Assert.Equal(1, (await Fcr("&from=2026-06-01T09:00:00Z&to=2026-06-11")).GetProperty("n").GetInt32());
        var records = await (await client.GetAsync($"/api/v1/metrics/records?metric=fcr&site={site}")).ReadJsonAsync();
        Assert.Single(records.GetProperty("items").EnumerateArray());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ContactsOfOneIssueInOneBatchChainAsIfEachCameAlone(string provider)
    {
        // One batch is one commit. On PostgreSQL the commit chains its contacts against the issues it read at its start
        // and what it wrote since, so a repeat of a repeat, a late contact that bridges two issues and one that goes
        // before an issue opened in the same commit must come out as they do one request at a time.
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        var known = Unique.Id("cust");
        var fresh = Unique.Id("cust");
        // A customer stored before the batch, so that the commit reads it.
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/contacts", Json.Contact("k0-" + site, known, site: site, reason: "delivery", at: At("2026-05-01T10:00:00Z")))).StatusCode);
        object C(string id, string who, string at, bool? resolved = null) => Json.Contact(id + "-" + site, who, site: site, reason: "billing", resolved: resolved, at: At(at));
        var batch = await client.PostJsonAsync("/api/v1/contacts/batch", new[]
        {
            C("k1", known, "2026-06-01T10:00:00Z", true),
            C("k2", known, "2026-06-06T10:00:00Z"),  // joins k1
            C("k3", known, "2026-06-12T10:00:00Z"),  // within 7 days of k2, not of k1: joins through k2
            C("k4", known, "2026-06-25T10:00:00Z", true),  // 13 days on: an issue of its own
            C("k5", known, "2026-06-19T10:00:00Z"),  // late, 7 days after k3 and 6 before k4: bridges the two
            C("k6", known, "2026-06-24T10:00:00Z"),  // joins the bridged issue (k4's issue is no more)
            C("f1", fresh, "2026-07-10T10:00:00Z", true),
            C("f2", fresh, "2026-07-05T10:00:00Z"),  // late: goes before f1
            C("f0", fresh, "2026-06-30T10:00:00Z"),  // later still, 5 days before the issue's new start: goes before f2
            C("f3", fresh, "2026-07-12T10:00:00Z"),  // joins
        });
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.All((await batch.ReadJsonAsync()).GetProperty("results").EnumerateArray(), item => Assert.Equal("created", item.GetProperty("status").GetString()));

        async Task<JsonElement> Issue(string id) => (await (await client.GetAsync($"/api/v1/contacts/{id}-{site}")).ReadJsonAsync()).GetProperty("issue");
        var knownIssue = await Issue("k1");
        foreach (var id in new[] { "k2", "k3", "k4", "k5", "k6" })
        {
            Assert.Equal(knownIssue.GetProperty("id").GetInt64(), (await Issue(id)).GetProperty("id").GetInt64());
        }
        Assert.Equal(6, knownIssue.GetProperty("contactCount").GetInt32());
        Assert.Equal(At("2026-06-01T10:00:00Z"), knownIssue.GetProperty("firstAt").GetDateTimeOffset());
        var freshIssue = await Issue("f1");
        Assert.Equal(freshIssue.GetProperty("id").GetInt64(), (await Issue("f2")).GetProperty("id").GetInt64());
        Assert.Equal(freshIssue.GetProperty("id").GetInt64(), (await Issue("f0")).GetProperty("id").GetInt64());
        Assert.Equal(freshIssue.GetProperty("id").GetInt64(), (await Issue("f3")).GetProperty("id").GetInt64());
        Assert.Equal(4, freshIssue.GetProperty("contactCount").GetInt32());
        Assert.Equal(At("2026-06-30T10:00:00Z"), freshIssue.GetProperty("firstAt").GetDateTimeOffset());

        // Three issues: the known customer's delivery (resolved at first contact), its billing and the new customer's billing
        // (each repeated: not resolved at first contact).
        var fcr = Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}")).ReadJsonAsync(), "fcr");
        Assert.Equal(3, fcr.GetProperty("n").GetInt32());
        Assert.Equal(1, fcr.GetProperty("resolved").GetInt32());
        Assert.Equal(3, (await (await client.GetAsync($"/api/v1/metrics/records?metric=fcr&site={site}")).ReadJsonAsync()).GetProperty("items").GetArrayLength());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AContactWithoutAReasonIsAnIssueOfItsOwnThatTheRecordsList(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: site, reason: "billing", resolved: true, at: At("2026-06-20T10:00:00Z")));
        var reasonless = await (await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), site: site, at: At("2026-06-20T11:00:00Z")))).ReadJsonAsync();
        Assert.Equal(1, reasonless.GetProperty("issue").GetProperty("contactCount").GetInt32());

        var fcr = Figure(await (await client.GetAsync($"/api/v1/metrics?site={site}&from=2026-06-20&to=2026-06-20")).ReadJsonAsync(), "fcr");
        var records = await (await client.GetAsync($"/api/v1/metrics/records?metric=fcr&site={site}&from=2026-06-20&to=2026-06-20")).ReadJsonAsync();
        Assert.Equal(2, fcr.GetProperty("n").GetInt32());
        Assert.Equal(fcr.GetProperty("n").GetInt32(), records.GetProperty("total").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TheRepeatWindowIsConfigurable(string provider)
    {
        await using var app = new TestApp(provider, new() { ["Ingest:RepeatWindow"] = "P1D" });
        using var client = app.Admin();

        var a = await (await client.PostJsonAsync("/api/v1/contacts", Json.Contact("w1", "cust", reason: "x", at: At("2026-07-01T09:00:00Z")))).ReadJsonAsync();
        var b = await (await client.PostJsonAsync("/api/v1/contacts", Json.Contact("w2", "cust", reason: "x", at: At("2026-07-03T09:00:00Z")))).ReadJsonAsync();

        Assert.NotEqual(a.GetProperty("issue").GetProperty("id").GetInt64(), b.GetProperty("issue").GetProperty("id").GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }
}
