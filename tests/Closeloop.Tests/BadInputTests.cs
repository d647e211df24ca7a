using System.Net;
using System.Text;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

public sealed class BadInputTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    private static async Task<Dictionary<string, string[]>> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.ReadJsonAsync();
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        return body.TryGetProperty("errors", out var errors)
            ? errors.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetString()!).ToArray())
            : [];
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task MissingRequiredFieldsAreAllNamed(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();

        var errors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/contacts", "{}"));

        Assert.Contains("externalId", errors.Keys);
        Assert.Contains("customer", errors.Keys);
        Assert.Contains("channel", errors.Keys);
        Assert.Contains("occurredAt", errors.Keys);

        var responseErrors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses", """{"customer":{}}"""));
        Assert.Contains("externalId", responseErrors.Keys);
        Assert.Contains("customer.externalId", responseErrors.Keys);
        Assert.Contains("metric", responseErrors.Keys);
        Assert.Contains("score", responseErrors.Keys);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task WrongTypesAnswer400NamingTheFieldNever500(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var body = """
            {"externalId": 42, "customer": {"externalId": "c1", "email": "not-an-email"}, "metric": "csat", "score": "five",
             "respondedAt": 12, "channel": ["phone"], "comment": {"text": "x"}}
            """;

        var errors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses", body));

        Assert.Contains("externalId", errors.Keys);
        Assert.Contains("score", errors.Keys);
        Assert.Contains("respondedAt", errors.Keys);
        Assert.Contains("channel", errors.Keys);
        Assert.Contains("comment", errors.Keys);
        Assert.Contains("customer.email", errors.Keys);

        var contactErrors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/contacts",
            """{"externalId":"x","customer":"c1","channel":"phone","occurredAt":"yesterday","waitSeconds":-3,"transfers":1.5,"resolved":"yes"}"""));
        Assert.Contains("customer", contactErrors.Keys);
        Assert.Contains("occurredAt", contactErrors.Keys);
        Assert.Contains("waitSeconds", contactErrors.Keys);
        Assert.Contains("transfers", contactErrors.Keys);
        Assert.Contains("resolved", contactErrors.Keys);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AQueryValueOrBodyFieldOfTheWrongTypeIsNamed(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer));

        var limit = await AssertProblemAsync(await client.GetAsync($"/api/v1/customers/{customer}/timeline?limit=abc"));
        Assert.Equal(["must be a whole number, not 'abc'"], limit["limit"]);
        var rule = await AssertProblemAsync(await client.GetAsync("/api/v1/alerts?rule=first"));
        Assert.Contains("rule", rule.Keys);
        var consent = await AssertProblemAsync(await client.PatchAsync($"/api/v1/customers/{customer}",
            new StringContent("""{"consent": "yes"}""", Encoding.UTF8, "application/json")));
        Assert.Contains("consent", consent.Keys);
        var garbage = await AssertProblemAsync(await client.PatchAsync($"/api/v1/customers/{customer}",
            new StringContent("""{"consent": tru""", Encoding.UTF8, "application/json")));
        Assert.Equal(["body"], garbage.Keys);
        var none = await AssertProblemAsync(await client.PatchAsync($"/api/v1/customers/{customer}", new StringContent("", Encoding.UTF8, "application/json")));
        Assert.Equal(["body"], none.Keys);
        var array = await AssertProblemAsync(await client.PatchAsync($"/api/v1/customers/{customer}", new StringContent("[1]", Encoding.UTF8, "application/json")));
        Assert.Equal(["must be a JSON object"], array["body"]);
    }

    [Theory]
    [InlineData("{\"externalId\": ")]
    [InlineData("{'externalId': 'x'}")]
    [InlineData("not json at all")]
    [InlineData("[1, 2")]
    [InlineData("")]
    public async Task MalformedJsonAnswers400(string body)
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var errors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses", body));
        Assert.Contains("body", errors.Keys);
        var batchErrors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/contacts/batch", body));
        Assert.Contains("body", batchErrors.Keys);
    }

    [Theory]
    [InlineData("csat", 0)]
    [InlineData("csat", 6)]
    [InlineData("nps", -1)]
    [InlineData("nps", 11)]
    [InlineData("ces", 0)]
    [InlineData("ces", 8)]
    public async Task ScoresOutsideTheirMetricsScaleAreRefused(string metric, int score)
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), "cust", metric, score)));

        Assert.Contains("score", errors.Keys);
    }

    [Fact]
    public async Task ALongComplaintIsKeptWholeAndOnlyAnOverlongOneIsRefused()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();
        // Real complaint narratives run past 20,000 characters (the CFPB sample's longest: 21,928); spaces around the
        // text do not count.
        var narrative = string.Concat(Enumerable.Repeat("I was charged twice and nobody called me back. ", 1_000)).Trim();
        var id = Unique.Id("r");
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/responses", Json.Response(id, "cust", "csat", 1, "  " + narrative + "  "))).StatusCode);
        Assert.Equal(narrative, (await (await client.GetAsync($"/api/v1/responses/{id}")).ReadJsonAsync()).GetProperty("comment").GetString());

        var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), "cust", "csat", 1, new string('x', 100_001))));
        Assert.Equal(["must be at most 100,000 characters"], errors["comment"]);
    }

    [Fact]
    public async Task EveryWrongTypedFieldOfAnAdminBodyIsNamedNotJustTheFirst()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var cause = await AssertProblemAsync(await client.PostRawAsync("/api/v1/root-causes", """{"code": 7, "name": ["Long wait"], "parent": true, "department": "Ops"}"""));
        Assert.Equal(["code", "name", "parent"], cause.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["must be a non-empty string"], cause["name"]);
        var key = await AssertProblemAsync(await client.PostRawAsync("/api/v1/api-keys", """{"name": {}, "role": 1, "site": "north"}"""));
        Assert.Equal(["name", "role"], key.Keys.Order(StringComparer.Ordinal));
        var user = await AssertProblemAsync(await client.PostRawAsync("/api/v1/users", """{"email": 5, "password": 123456789012, "role": "agent", "team": false}"""));
        Assert.Equal(["email", "password", "team"], user.Keys.Order(StringComparer.Ordinal));
        var pool = await AssertProblemAsync(await client.PutAsync("/api/v1/pools/recovery", new StringContent("""{"members": "a@example.com"}""", Encoding.UTF8, "application/json")));
        Assert.Equal(["must be an array of strings"], pool["members"]);
        var site = await AssertProblemAsync(await client.PutAsync("/api/v1/sites/north", new StringContent("""{"name": 1, "kind": "vendor", "holidays": [1, 2]}""", Encoding.UTF8, "application/json")));
        Assert.Equal(["holidays", "name"], site.Keys.Order(StringComparer.Ordinal));
        var hook = await AssertProblemAsync(await client.PostRawAsync("/api/v1/webhooks", """{"url": 1, "events": "alert.created", "secret": null}"""));
        Assert.Equal(["events", "url"], hook.Keys.Order(StringComparer.Ordinal));
        // Not JSON at all is still the body's fault, with the line and byte.
        var garbage = await AssertProblemAsync(await client.PostRawAsync("/api/v1/root-causes", """{"code": "x", """));
        Assert.Equal(["body"], garbage.Keys);
    }

    [Fact]
    public async Task UnknownMetricAndChannelAndFractionalScoreAreRefused()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var errors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses",
            """{"externalId":"x1","customer":{"externalId":"c"},"metric":"ltr","score":3.5,"channel":"carrier-pigeon"}"""));

        Assert.Contains("metric", errors.Keys);
        Assert.Contains("score", errors.Keys);
        Assert.Contains("channel", errors.Keys);
    }

    [Fact]
    public async Task ABodyOverOneMegabyteAnswers413()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();
        var comment = new string('a', 1024 * 1024);
        var body = JsonSerializer.Serialize(Json.Response(Unique.Id("r"), "cust", "csat", 3, comment));

        await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses", body), HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task ABatchOverTenMegabytesAnswers413AndUnderItIsRead()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();
        var big = new StringBuilder("[");
        var item = JsonSerializer.Serialize(Json.Response("r-x", "cust", "csat", 3, new string('b', 11_000)));
        for (var i = 0; i < 1000; i++)
        {
            big.Append(i == 0 ? "" : ",").Append(item);
        }
        big.Append(']');
        Assert.True(big.Length > 10 * 1024 * 1024);

        await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses/batch", big.ToString()), HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task ABatchOfMoreThanAThousandItemsOrNotAnArrayIsRefused()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();
        var items = Enumerable.Range(0, 1001).Select(i => Json.Response($"too-many-{i}", "cust", "csat", 3)).ToArray();

        var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/responses/batch", items));
        Assert.Contains("body", errors.Keys);
        Assert.Contains("body", (await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses/batch", """{"externalId":"x"}"""))).Keys);
        Assert.Contains("body", (await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses/batch", "[]"))).Keys);
        // Nothing of the refused batch was stored.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/responses/too-many-0")).StatusCode);
    }

    [Fact]
    public async Task ANonJsonContentTypeAnswers415()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses", "externalId=x", "application/x-www-form-urlencoded"), HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task AResponseNamingAnUnknownContactIsRefused()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), "cust", "csat", 3, contact: "no-such-contact")));

        Assert.Contains("contactExternalId", errors.Keys);
    }

    [Fact]
    public async Task BadQueryParametersOfMetricsAreNamed()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();

        var errors = await AssertProblemAsync(await client.GetAsync("/api/v1/metrics?from=last-week&groupBy=planet"));

        Assert.Contains("from", errors.Keys);
        Assert.Contains("groupBy", errors.Keys);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnEmptyOrBlankRequiredFieldIsNamed(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();

        var errors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/contacts",
            """{"externalId": "  ", "customer": {"externalId": ""}, "channel": "", "occurredAt": "2026-11-20T10:00:00Z"}"""));
        Assert.Equal(["channel", "customer.externalId", "externalId"], errors.Keys.Order(StringComparer.Ordinal));

        var responseErrors = await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses",
            """{"externalId": "r", "customer": {"externalId": "c"}, "metric": "", "score": 3, "channel": "phone"}"""));
        Assert.Equal(["metric"], responseErrors.Keys);

        var dots = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/contacts", Json.Contact("..", Unique.Id("cust"))));
        Assert.Equal(["externalId"], dots.Keys);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TextThatIsNotUnicodeIsNamedAndABatchKeepsItsGoodItems(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");

        // Half a surrogate pair, as a JSON escape.
        var escaped = await AssertProblemAsync(await client.PostRawAsync("/api/v1/responses",
            $$"""{"externalId": "{{Unique.Id("r")}}", "customer": {"externalId": "{{customer}}"}, "metric": "csat", "score": 3, "channel": "chat", "comment": "bad \udc00 text"}"""));
        Assert.Equal(["comment"], escaped.Keys);

        // A Latin-1 byte in what should be UTF-8 (a CRM export in the wrong encoding).
        var latin1 = Encoding.Latin1.GetBytes($$"""{"externalId": "{{Unique.Id("r")}}", "customer": {"externalId": "{{customer}}"}, "metric": "csat", "score": 3, "channel": "chat", "comment": "café"}""");
        var raw = await AssertProblemAsync(await client.PostAsync("/api/v1/responses", new ByteArrayContent(latin1) { Headers = { ContentType = new("application/json") } }));
        Assert.Equal(["comment"], raw.Keys);

        var good = Unique.Id("r");
        var batch = await client.PostRawAsync("/api/v1/responses/batch",
            $$"""
            [{"externalId": "{{good}}", "customer": {"externalId": "{{customer}}"}, "metric": "csat", "score": 3, "channel": "chat", "comment": "fine"},
             {"externalId": "x\ud800", "customer": {"externalId": "{{customer}}"}, "metric": "csat", "score": 3, "channel": "chat"}]
            """);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var results = (await batch.ReadJsonAsync()).GetProperty("results");
        Assert.Equal("created", results[0].GetProperty("status").GetString());
        Assert.Equal("invalid", results[1].GetProperty("status").GetString());
        Assert.True(results[1].GetProperty("errors").TryGetProperty("externalId", out _));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/responses/{good}")).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ABodyWithAByteOrderMarkIsReadAndADateMustBeIso8601(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var id = Unique.Id("r");
        var body = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(
            $$"""{"externalId": "{{id}}", "customer": {"externalId": "{{Unique.Id("cust")}}"}, "metric": "csat", "score": 4, "channel": "chat", "respondedAt": "2026-11-20T10:00:00.123+02:00"}""")).ToArray();
        var created = await client.PostAsync("/api/v1/responses", new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T08:00:00.123Z", System.Globalization.CultureInfo.InvariantCulture), (await created.ReadJsonAsync()).GetProperty("respondedAt").GetDateTimeOffset());

        foreach (var date in new[] { "11/12/2026", "Fri, 20 Nov 2026 10:00:00 GMT", "20.11.2026", "yesterday" })
        {
            var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/contacts", new
            {
                externalId = Unique.Id("c"), customer = new { externalId = "c" }, channel = "phone", occurredAt = date,
            }));
            Assert.Equal(["occurredAt"], errors.Keys);
        }
        foreach (var date in new[] { "2026-11-20", "2026-11-20T10:00Z", "2026-11-20 10:00:00", "2026-11-20T10:00:00.5-05:00" })
        {
            var ok = await client.PostJsonAsync("/api/v1/contacts", new { externalId = Unique.Id("c"), customer = new { externalId = "c" }, channel = "phone", occurredAt = date });
            Assert.True(ok.StatusCode == HttpStatusCode.Created, $"{date}: {(int)ok.StatusCode}");
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task TheLastDayThereIsCanBeQueried(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var site = Unique.Id("site");
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/responses",
            Json.Response(Unique.Id("r"), Unique.Id("cust"), "csat", 5, site: site, at: DateTimeOffset.Parse("9999-12-31T23:59:59Z", System.Globalization.CultureInfo.InvariantCulture)))).StatusCode);

        var metrics = await client.GetAsync($"/api/v1/metrics?site={site}&from=2026-11-01&to=9999-12-31");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal(1, (await metrics.ReadJsonAsync()).GetProperty("total").GetProperty("csat").GetProperty("n").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/metrics/records?metric=csat&site={site}&from=9999-12-31&to=9999-12-31")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/metrics/records?metric=csat&site={site}&day=9999-12-31")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/insights/pareto?from=2026-11-01&to=9999-12-31")).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AResponseAboutAnotherCustomersContactIsRefused(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var contact = Unique.Id("c");
        var owner = Unique.Id("cust");
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/contacts", Json.Contact(contact, owner, site: Unique.Id("site")))).StatusCode);

        var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("cust"), "csat", 2, contact: contact)));
        Assert.Equal(["contactExternalId"], errors.Keys);
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), owner, "csat", 2, contact: contact))).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnEmailAddressTheOutboxCouldNotSendToIsRefused(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        foreach (var email in new[] { "jane,doe@example.com", "jane..doe@example.com", "jane@example", "jane<doe>@example.com", "x\"onmouseover=alert(1)@example.com", "Jane <jane@example.com>" })
        {
            var errors = await AssertProblemAsync(await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), email: email)));
            Assert.True(errors.ContainsKey("customer.email"), email);
        }
        foreach (var email in new[] { "jane.doe@example.com", "Jane.Doe+tag@Example.co.uk", "o'brien@example.ie", "user@münchen.de" })
        {
            var created = await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), Unique.Id("cust"), email: email));
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{email}: {await created.Content.ReadAsStringAsync()}");
        }
    }
}
