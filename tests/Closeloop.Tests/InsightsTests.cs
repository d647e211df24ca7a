using System.Net;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

public sealed class InsightsTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task EveryResponseCarriesItsSentimentSignalsAndPredictedCause(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var id = Unique.Id("r");
        await client.PostJsonAsync("/api/v1/responses", Json.Response(id, Unique.Id("cust"), "csat", 1,
            "I was on hold for over an hour in the queue. This is terrible, I will cancel my account!", site: "north"));

        var analysis = (await (await client.GetAsync($"/api/v1/responses/{id}")).ReadJsonAsync()).GetProperty("analysis");

        Assert.True(analysis.GetProperty("sentiment").GetProperty("compound").GetDouble() < -0.4);
        Assert.Contains("churn_threat", analysis.GetProperty("signals").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("process.long-wait", analysis.GetProperty("rootCause").GetProperty("code").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task LabelledExamplesTeachTheClassifierAtOnce(string provider)
    {
        await using var app = new TestApp(provider);
        using var client = app.Admin();
        const string text = "the zorblax widget kept flickering";
        var before = await (await client.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString(text)}")).ReadJsonAsync();
        Assert.NotEqual("product.defect", before.GetProperty("rootCause").ValueKind == JsonValueKind.Null ? null : before.GetProperty("rootCause").GetProperty("code").GetString());

        // The classifier serves every site: a key confined to one, or of a role that does not configure, may not train it.
        foreach (var (role, site) in new[] { ("integration", "north"), ("agent", "north"), ("supervisor", "north") })
        {
            using var other = app.Client(await app.CreateKeyAsync(role, site));
            Assert.Equal(HttpStatusCode.Forbidden, (await other.PostJsonAsync("/api/v1/insights/examples", new[] { new { text = "zorblax", cause = "product.defect" } })).StatusCode);
        }
        using var machine = app.Client(await app.CreateKeyAsync("integration"));
        Assert.Equal(HttpStatusCode.BadRequest, (await machine.PostJsonAsync("/api/v1/insights/examples", new[] { new { text = "x", cause = "no.such" } })).StatusCode);

        var bad = await client.PostJsonAsync("/api/v1/insights/examples", new[] { new { text = "x", cause = "no.such" } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var learned = await client.PostJsonAsync("/api/v1/insights/examples", new[]
        {
            new { text = "my zorblax widget is flickering again", cause = "product.defect" },
            new { text = "zorblax widget flickering and broken", cause = "product.defect" },
            new { text = "the zorblax keeps flickering", cause = "product.defect" },
            new { text = "widget flickering, zorblax faulty", cause = "product.defect" },
        });
        Assert.Equal(HttpStatusCode.OK, learned.StatusCode);

        var after = await (await client.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString(text)}")).ReadJsonAsync();
        Assert.Equal("product.defect", after.GetProperty("rootCause").GetProperty("code").GetString());

        // The same examples again are known already: nothing is learned twice.
        var again = await (await client.PostJsonAsync("/api/v1/insights/examples", new[]
        {
            new { text = "my zorblax widget is flickering again", cause = "product.defect" },
            new { text = "zorblax widget flickering and broken", cause = "product.defect" },
        })).ReadJsonAsync();
        Assert.Equal(0, again.GetProperty("learned").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ParetoTrendAndDriversAreComputedFromTheCauses(string provider)
    {
        await using var app = new TestApp(provider);
        using var client = app.Admin();
        // 4 long waits (csat 1,1,2,5), 2 late deliveries (csat 2,4), 2 without a cause (csat 5,5).
        object[] batch =
        [
            Json.Response("p1", "c1", "csat", 1, "I waited on hold for an hour in the queue", site: "north"),
            Json.Response("p2", "c2", "csat", 1, "Long wait on hold, forty minutes in the queue", site: "north"),
            Json.Response("p3", "c3", "csat", 2, "The hold time was ridiculous, waited too long", site: "south"),
            Json.Response("p4", "c4", "csat", 5, "Waited on hold a long time but then great help", site: "south"),
            Json.Response("p5", "c5", "csat", 2, "My parcel delivery is late again, still not delivered", site: "north"),
            Json.Response("p6", "c6", "csat", 4, "The delivery was late but arrived in the end", site: "north"),
            Json.Response("p7", "c7", "csat", 5, site: "north"),
            Json.Response("p8", "c8", "csat", 5, site: "south"),
        ];
        await client.PostJsonAsync("/api/v1/responses/batch", batch);
        var causes = new Dictionary<string, string?>();
        foreach (var id in new[] { "p1", "p2", "p3", "p4", "p5", "p6" })
        {
            var analysis = (await (await client.GetAsync($"/api/v1/responses/{id}")).ReadJsonAsync()).GetProperty("analysis").GetProperty("rootCause");
            causes[id] = analysis.ValueKind == JsonValueKind.Null ? null : analysis.GetProperty("code").GetString();
        }
        Assert.All(["p1", "p2", "p3", "p4"], id => Assert.Equal("process.long-wait", causes[id]));
        Assert.All(["p5", "p6"], id => Assert.Equal("logistics.late-delivery", causes[id]));

        var pareto = await (await client.GetAsync("/api/v1/insights/pareto?by=site")).ReadJsonAsync();
        var overall = pareto.GetProperty("overall").GetProperty("causes").EnumerateArray().ToList();
        Assert.Equal("process.long-wait", overall[0].GetProperty("code").GetString());
        Assert.Equal(4, overall[0].GetProperty("count").GetInt32());
        Assert.Equal(100.0, overall[1].GetProperty("cumulative").GetDouble(), 6);
        Assert.Equal(2, pareto.GetProperty("groups").GetArrayLength());
        var csv = await (await client.GetAsync("/api/v1/insights/pareto?by=site&format=csv")).Content.ReadAsStringAsync();
        Assert.StartsWith("group,cause,name,department,count,share,cumulative", csv, StringComparison.Ordinal);

        // Drivers: CSAT overall 4 of 8 = 50. Without long waits: p5..p8 -> 3 of 4 = 75; with: 1 of 4 = 25; share 0.5 -> 25 points.
        var drivers = await (await client.GetAsync("/api/v1/insights/drivers?metric=csat")).ReadJsonAsync();
        Assert.Equal(50.0, drivers.GetProperty("score").GetDouble(), 6);
        var wait = drivers.GetProperty("drivers").EnumerateArray().First(d => d.GetProperty("code").GetString() == "process.long-wait");
        Assert.Equal(25.0, wait.GetProperty("scoreWith").GetDouble(), 6);
        Assert.Equal(75.0, wait.GetProperty("scoreWithout").GetDouble(), 6);
        Assert.Equal(25.0, wait.GetProperty("pointsLost").GetDouble(), 6);

        var trend = await (await client.GetAsync("/api/v1/insights/trend?cause=logistics.late-delivery")).ReadJsonAsync();
        Assert.Equal(2, trend.EnumerateArray().Sum(p => p.GetProperty("count").GetInt32()));

        // One site, asked for by name; a site that is not there, or not the caller's, is a 404.
        var south = await (await client.GetAsync("/api/v1/insights/pareto?site=south")).ReadJsonAsync();
        Assert.Equal(2, south.GetProperty("overall").GetProperty("total").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/insights/pareto?site=nowhere")).StatusCode);
        using var northKey = app.Client(await app.CreateKeyAsync("site_manager", "north"));
        Assert.Equal(HttpStatusCode.NotFound, (await northKey.GetAsync("/api/v1/insights/drivers?site=south")).StatusCode);
        Assert.Equal(4, (await (await northKey.GetAsync("/api/v1/insights/pareto")).ReadJsonAsync()).GetProperty("overall").GetProperty("total").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/insights/trend?cause=no.such-cause")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/insights/pareto?from=2026-12-05&to=2026-12-01")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/insights/pareto?source=tickets")).StatusCode);
        Assert.Contains("\r\n", csv, StringComparison.Ordinal);

        // A department sees the causes it owns, and only those.
        var departmentOfWaits = (await (await client.GetAsync("/api/v1/root-causes")).ReadJsonAsync()).EnumerateArray()
            .First(c => c.GetProperty("code").GetString() == "process.long-wait").GetProperty("department").GetString();
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<Closeloop.Data.CloseloopDb>();
        var department = new Closeloop.Security.CallerScope("department", null, null, "head") { Department = departmentOfWaits };
        var own = await Closeloop.Insights.InsightReports.ParetoAsync(db, department, null, false, 0, long.MaxValue / 2, CancellationToken.None);
        Assert.Equal(["process.long-wait"], own.Overall.Causes.Select(c => c.Code));
        Assert.Equal(100.0, own.Overall.Causes[0].Share, 6);
        var ownTrend = await Closeloop.Insights.InsightReports.TrendAsync(db, department, null, 0, long.MaxValue / 2, CancellationToken.None);
        Assert.All(ownTrend, p => Assert.Equal("process.long-wait", p.Cause));
        var ownDrivers = await Closeloop.Insights.InsightReports.DriversAsync(db, department, "csat", 0, long.MaxValue / 2, CancellationToken.None);
        Assert.Equal(["process.long-wait"], ownDrivers.Drivers.Select(d => d.Code));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ReportsReadWholeDaysFromTheRollupAndPartialDaysFromTheRecordsAndAgreeWithTheRecords(string provider)
    {
        await using var app = new TestApp(provider);
        using var client = app.Admin();
        string[] comments =
        [
            "I waited on hold for an hour in the queue", "My parcel delivery is late again, still not delivered", "",
            "Long wait on hold, forty minutes in the queue", "The delivery was late but arrived in the end",
        ];
        var start = At("2026-11-01T00:00:00Z");
        var records = new List<(string Id, DateTimeOffset At, string Site, int Score, string Comment)>();
        for (var i = 0; i < 30; i++)
        {
            // Every 5 h 17 min over six days: each day has records early and late, so partial days matter.
            records.Add(($"roll-{i}", start.AddMinutes(i * 317), i % 3 == 0 ? "south" : "north", 1 + i * 7 % 5, comments[i % comments.Length]));
        }
        // Teams, agents and channels that cut across the sites and causes differently.
        string[] channels = ["phone", "chat", "email"];
        var org = records.Select((r, i) => (r.Id, Team: $"team-{i % 2}", Agent: $"agent-{i % 4}", Channel: channels[i % 3])).ToDictionary(o => o.Id);
        string Team(string id) => org[id].Team;
        string Agent(string id) => org[id].Agent;
        string Channel(string id) => org[id].Channel;
        await client.PostJsonAsync("/api/v1/responses/batch",
            records.Select(r => Json.Response(r.Id, "cust-" + r.Id, "csat", r.Score, r.Comment.Length == 0 ? null : r.Comment, at: r.At, site: r.Site,
                team: Team(r.Id), agent: Agent(r.Id), channel: Channel(r.Id))).ToArray());
        var causes = new Dictionary<string, string?>();
        foreach (var r in records)
        {
            var cause = (await (await client.GetAsync($"/api/v1/responses/{r.Id}")).ReadJsonAsync()).GetProperty("analysis").GetProperty("rootCause");
            causes[r.Id] = cause.ValueKind == JsonValueKind.Null ? null : cause.GetProperty("code").GetString();
        }
        Assert.Contains("process.long-wait", causes.Values);
        Assert.Contains("logistics.late-delivery", causes.Values);

        async Task CheckAsync(string from, string to, DateTimeOffset a, DateTimeOffset b)
        {
            var inside = records.Where(r => r.At >= a && r.At < b).ToList();
            var query = $"from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}";
            var pareto = await (await client.GetAsync($"/api/v1/insights/pareto?by=site&{query}")).ReadJsonAsync();
            var expected = inside.Where(r => causes[r.Id] is not null).GroupBy(r => causes[r.Id]!).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(expected.OrderBy(e => e.Key), pareto.GetProperty("overall").GetProperty("causes").EnumerateArray()
                .ToDictionary(c => c.GetProperty("code").GetString()!, c => c.GetProperty("count").GetInt32()).OrderBy(e => e.Key));
            var bySite = pareto.GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("key").GetString()!, g => g.GetProperty("total").GetInt32());
            Assert.Equal(inside.Where(r => causes[r.Id] is not null).GroupBy(r => r.Site).ToDictionary(g => g.Key, g => g.Count()).OrderBy(e => e.Key), bySite.OrderBy(e => e.Key));

            foreach (var (by, keyOf) in new (string, Func<string, string>)[] { ("team", Team), ("agent", Agent), ("channel", Channel) })
            {
                var grouped = await (await client.GetAsync($"/api/v1/insights/pareto?by={by}&{query}")).ReadJsonAsync();
                Assert.Equal(
                    inside.Where(r => causes[r.Id] is not null).GroupBy(r => $"{keyOf(r.Id)} {causes[r.Id]}").Select(g => $"{g.Key} {g.Count()}").Order(StringComparer.Ordinal),
                    grouped.GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("causes").EnumerateArray()
                        .Select(c => $"{g.GetProperty("key").GetString()} {c.GetProperty("code").GetString()} {c.GetProperty("count").GetInt32()}")).Order(StringComparer.Ordinal));
            }

            var trend = await (await client.GetAsync($"/api/v1/insights/trend?{query}")).ReadJsonAsync();
            Assert.Equal(
                inside.Where(r => causes[r.Id] is not null).GroupBy(r => $"{r.At.UtcDateTime:yyyy-MM-dd} {causes[r.Id]}").Select(g => $"{g.Key} {g.Count()}").Order(StringComparer.Ordinal),
                trend.EnumerateArray().Select(p => $"{p.GetProperty("day").GetString()} {p.GetProperty("cause").GetString()} {p.GetProperty("count").GetInt32()}").Order(StringComparer.Ordinal));

            var drivers = await (await client.GetAsync($"/api/v1/insights/drivers?metric=csat&{query}")).ReadJsonAsync();
            Assert.Equal(inside.Count, drivers.GetProperty("n").GetInt32());
            if (inside.Count > 0)
            {
                Assert.Equal(100.0 * inside.Count(r => r.Score >= 4) / inside.Count, drivers.GetProperty("score").GetDouble(), 6);
            }
            foreach (var d in drivers.GetProperty("drivers").EnumerateArray())
            {
                var with = inside.Where(r => causes[r.Id] == d.GetProperty("code").GetString()).ToList();
                Assert.Equal(with.Count, d.GetProperty("n").GetInt32());
                Assert.Equal(100.0 * with.Count(r => r.Score >= 4) / with.Count, d.GetProperty("scoreWith").GetDouble(), 6);
            }
        }

        DateTimeOffset At(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        await CheckAsync("2026-11-02", "2026-11-04", At("2026-11-02T00:00:00Z"), At("2026-11-05T00:00:00Z"));                     // whole days
        await CheckAsync("2026-11-01T18:00:00Z", "2026-11-04T06:30:00Z", At("2026-11-01T18:00:00Z"), At("2026-11-04T06:30:00Z")); // edges + days
        await CheckAsync("2026-11-03T01:00:00Z", "2026-11-03T20:00:00Z", At("2026-11-03T01:00:00Z"), At("2026-11-03T20:00:00Z")); // inside one day
        await CheckAsync("2026-10-01", "2026-12-31", At("2026-10-01T00:00:00Z"), At("2027-01-01T00:00:00Z"));                     // all

        // A supervisor's cause replaces the prediction, and the whole-day counts follow it.
        await client.CreatePoolAsync("qa");
        await client.PostRawAsync("/api/v1/alert-rules", """{"name":"Low","when":{"field":"score","op":"lte","value":1},"owner":{"kind":"pool","name":"qa"},"deadline":"PT2H"}""");
        var late = records.First(r => causes[r.Id] == "logistics.late-delivery");
        org["roll-alert"] = ("roll-alert", "team-1", "agent-9", "sms");
        await client.PostJsonAsync("/api/v1/responses", Json.Response("roll-alert", "cust-roll-alert", "csat", 1, late.Comment, at: late.At.AddMinutes(1), site: late.Site,
            team: Team("roll-alert"), agent: Agent("roll-alert"), channel: Channel("roll-alert")));
        records.Add(("roll-alert", late.At.AddMinutes(1), late.Site, 1, late.Comment));
        var alertId = (await (await client.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items").EnumerateArray()
            .Single(a => a.GetProperty("customer").GetString() == "cust-roll-alert").GetProperty("id").GetInt64();
        var resolved = await client.PostJsonAsync($"/api/v1/alerts/{alertId}/actions", new { type = "resolve", rootCause = "product.defect", outcome = "Replaced the item" });
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        causes["roll-alert"] = "product.defect";
        await CheckAsync("2026-10-01", "2026-12-31", At("2026-10-01T00:00:00Z"), At("2027-01-01T00:00:00Z"));
        await CheckAsync("2026-11-01T18:00:00Z", "2026-11-04T06:30:00Z", At("2026-11-01T18:00:00Z"), At("2026-11-04T06:30:00Z"));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ACauseConfirmedOnResolutionReplacesThePredictionAndIsLearned(string provider)
    {
        await using var app = new TestApp(provider);
        using var client = app.Admin();
        await client.CreatePoolAsync("qa");
        await client.PostRawAsync("/api/v1/alert-rules", """{"name":"Low","when":{"field":"score","op":"lte","value":2},"owner":{"kind":"pool","name":"qa"},"deadline":"PT2H"}""");
        await client.PostJsonAsync("/api/v1/responses", Json.Response("conf-1", "cust-conf", "csat", 1, "the quibbleflux form ate my application twice", site: "north"));
        var id = (await (await client.GetAsync("/api/v1/alerts")).ReadJsonAsync()).GetProperty("items")[0].GetProperty("id").GetInt64();

        var resolved = await client.PostJsonAsync($"/api/v1/alerts/{id}/actions", new { type = "resolve", rootCause = "channel.digital-self-service", outcome = "Fixed the form" });
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);

        var cause = (await (await client.GetAsync("/api/v1/responses/conf-1")).ReadJsonAsync()).GetProperty("analysis").GetProperty("rootCause");
        Assert.Equal("channel.digital-self-service", cause.GetProperty("code").GetString());
        Assert.Equal(1.0, cause.GetProperty("confidence").GetDouble());
        var similar = await (await client.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString("the quibbleflux form ate my application")}")).ReadJsonAsync();
        Assert.Equal("channel.digital-self-service", similar.GetProperty("rootCause").GetProperty("code").GetString());
    }

    [Fact]
    public async Task TheCliTrainsFromACsvOfLabelledExamples()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("examples", ".csv");
        await File.WriteAllTextAsync(file, "text,cause\n\"the snorkel portal refuses my login\",channel.digital-self-service\n\"snorkel portal login broken\",channel.digital-self-service\nsomething,not.a-cause\n");

        var (exit, output) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "insights", "train", file);

        Assert.Equal(1, exit);
        Assert.Contains("2 examples learned, 0 already known, 1 refused.", output, StringComparison.Ordinal);
        Assert.Contains("line 4:", output, StringComparison.Ordinal);
        await using var server = await AppProcess.StartServerAsync(TestDatabases.Sqlite, connection);
        using var client = server.Client();
        var analysis = await (await client.GetAsync($"/api/v1/insights/analyze?text={Uri.EscapeDataString("snorkel portal login refuses")}")).ReadJsonAsync();
        Assert.Equal("channel.digital-self-service", analysis.GetProperty("rootCause").GetProperty("code").GetString());
    }
}
