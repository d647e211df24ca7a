using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Surveys;
using Closeloop.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests;

/// <summary>Survey definitions and the public survey page, through HTTP, on SQLite and PostgreSQL.</summary>
public sealed class SurveyTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    // Its own app per provider: the public page is rate-limited per client, and every test-server request comes from one.
    private static readonly ConcurrentDictionary<string, Lazy<TestApp>> Apps = new();

    private static TestApp App(string provider) => Apps.GetOrAdd(provider, p => new Lazy<TestApp>(() =>
    {
        var settings = new Dictionary<string, string?>
        {
            ["Surveys:PublicRequestsPerMinute"] = "100000",
            ["Surveys:Sampling:never-sampled"] = "0",
        };
        if (p == TestDatabases.Postgres)
        {
            // One more app on the shared PostgreSQL server: a small pool keeps the whole suite under its connection limit
            // (the database TestApp creates for itself stays empty).
            settings["ConnectionStrings:Closeloop"] = TestDatabases.CreateDatabase(p) + ";Maximum Pool Size=6";
        }
        var app = new TestApp(p, settings);
        _ = app.Server;
        return app;
    })).Value;

    private static object Rating(string name, int min, int max, bool required = true) =>
        new { type = "rating", name, isRequired = required, rateMin = min, rateMax = max, rateCount = max - min + 1 };

    private static object Definition(params object[] elements) => new { title = "Test survey", pages = new[] { new { name = "p1", elements } } };

    /// <summary>A site of its own, a contact there, and an invitation about it; a rule that alerts on a bad CSAT at that site.</summary>
    private static async Task<(string Site, string Customer, string Token)> InvitationAsync(HttpClient admin, object? extra = null, bool rule = false)
    {
        var site = Unique.Id("site");
        var customer = Unique.Id("cust");
        var contact = Unique.Id("contact");
        if (rule)
        {
            await RuleAsync(admin, site);
        }
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/contacts",
            Json.Contact(contact, customer, site: site, team: site + "-team", agent: site + "-agent", at: DateTimeOffset.UtcNow.AddHours(-1)))).StatusCode);
        var body = new Dictionary<string, object?> { ["customer"] = new { externalId = customer }, ["contactExternalId"] = contact };
        foreach (var property in JsonSerializer.SerializeToElement(extra ?? new { }).EnumerateObject())
        {
            body[property.Name] = property.Value;
        }
        var response = await admin.PostJsonAsync("/api/v1/survey-invitations", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var invitation = await response.ReadJsonAsync();
        Assert.Equal($"/s/{invitation.GetProperty("token").GetString()}", invitation.GetProperty("link").GetString());
        return (site, customer, invitation.GetProperty("token").GetString()!);
    }

    private static async Task RuleAsync(HttpClient admin, string site)
    {
        // A pool of its own: the app is shared, and a rule is saved only with an owner that exists.
        var pool = Unique.Id("recovery");
        await admin.CreatePoolAsync(pool);
        var created = await admin.PostRawAsync("/api/v1/alert-rules", $$"""
            {"name": "Unhappy at {{site}}", "enabled": true,
             "when": {"all": [{"field": "site", "op": "eq", "value": "{{site}}"}, {"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]},
             "owner": {"kind": "pool", "name": "{{pool}}"}, "deadline": "PT2H", "clock": "24x7"}
            """);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    private static async Task<string?> RefusalAsync(HttpClient admin, object invitation)
    {
        var response = await admin.PostJsonAsync("/api/v1/survey-invitations", invitation);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return null;
        }
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("reason").GetString();
    }

    private static async Task<List<JsonElement>> ResponsesOfAsync(HttpClient admin, string customer)
    {
        var timeline = await (await admin.GetAsync($"/api/v1/customers/{customer}/timeline")).ReadJsonAsync();
        return timeline.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("kind").GetString() == "response").Select(i => i.GetProperty("response")).ToList();
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnAdminCreatesReadsChangesAndDeletesASurveyAndOnlyOneDefaultPerMetricRemains(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        var definition = Definition(Rating("ces", 1, 7), new { type = "comment", name = "comment", maxLength = 500 });

        var created = await admin.PostJsonAsync("/api/v1/surveys", new { name = "Effort", metric = "ces", isDefault = true, definition });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var survey = await created.ReadJsonAsync();
        var id = survey.GetProperty("id").GetInt64();
        Assert.Equal($"/api/v1/surveys/{id}", created.Headers.Location!.OriginalString);
        Assert.Equal("ces", survey.GetProperty("metric").GetString());
        Assert.Equal("rating", survey.GetProperty("definition").GetProperty("pages")[0].GetProperty("elements")[0].GetProperty("type").GetString());

        var second = await (await admin.PostJsonAsync("/api/v1/surveys", new { name = "Effort 2", metric = "ces", isDefault = true, definition })).ReadJsonAsync();
        Assert.False((await (await admin.GetAsync($"/api/v1/surveys/{id}")).ReadJsonAsync()).GetProperty("isDefault").GetBoolean());
        Assert.True(second.GetProperty("isDefault").GetBoolean());

        var changed = await admin.PutAsync($"/api/v1/surveys/{id}", System.Net.Http.Json.JsonContent.Create(new { name = "Effort, renamed", metric = "ces", isDefault = true, definition }));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var list = await (await admin.GetAsync("/api/v1/surveys")).ReadJsonAsync();
        Assert.Equal([id], list.EnumerateArray().Where(s => s.GetProperty("metric").GetString() == "ces" && s.GetProperty("isDefault").GetBoolean()).Select(s => s.GetProperty("id").GetInt64()));
        Assert.Contains(list.EnumerateArray(), s => s.GetProperty("name").GetString() == "Effort, renamed");

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/surveys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/surveys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/v1/surveys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PutAsync("/api/v1/surveys/999999", System.Net.Http.Json.JsonContent.Create(new { name = "x", metric = "ces", definition }))).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task OnlyAnAdminChangesSurveys(string provider)
    {
        var app = App(provider);
        using var machine = app.Client(await app.CreateKeyAsync("integration"));

        var refused = await machine.PostJsonAsync("/api/v1/surveys", new { name = "x", metric = "csat", definition = Definition(Rating("csat", 1, 5)) });

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await machine.GetAsync("/api/v1/surveys")).StatusCode);
        using var anonymous = app.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/surveys")).StatusCode);
    }

    public static TheoryData<string, string, string> BadDefinitions => new()
    {
        { "csat", "[1, 2]", "definition" },
        { "csat", """{"title": "no questions"}""", "definition" },
        { "csat", """{"pages": []}""", "definition.pages" },
        { "csat", """{"pages": [{"elements": [{"type": "comment", "name": "comment"}]}]}""", "definition" },
        { "csat", """{"pages": [{"elements": [{"type": "text", "name": "csat", "isRequired": true}]}]}""", "definition.pages[0].elements[0].type" },
        { "nps", """{"pages": [{"elements": [{"type": "rating", "name": "nps", "isRequired": true, "rateMin": 1, "rateMax": 10}]}]}""", "definition.pages[0].elements[0].rateMin" },
        { "ces", """{"pages": [{"elements": [{"type": "rating", "name": "ces", "isRequired": true, "rateMax": 5}]}]}""", "definition.pages[0].elements[0].rateMax" },
        { "csat", """{"pages": [{"elements": [{"type": "rating", "name": "csat", "isRequired": true, "rateCount": 10}]}]}""", "definition.pages[0].elements[0].rateMax" },
        { "csat", """{"pages": [{"elements": [{"type": "rating", "name": "csat"}]}]}""", "definition.pages[0].elements[0].isRequired" },
        { "csat", """{"elements": [{"type": "rating", "name": "csat", "isRequired": true}, {"type": "panel", "elements": [{"type": "rating", "name": "csat", "isRequired": true}]}]}""", "definition.elements[1].elements[0].name" },
        { "csat", """{"elements": [{"type": "rating", "name": "csat", "isRequired": true}, {"type": "boolean"}]}""", "definition.elements[1].name" },
        { "csat", """{"elements": [{"type": "rating", "name": "csat", "isRequired": true}, {"type": "checkbox", "name": "comment"}]}""", "definition.elements[1].type" },
        { "csat", """{"elements": [{"type": "rating", "name": "csat", "isRequired": true, "rateValues": [1, 2, 3]}]}""", "definition.elements[0].rateValues" },
        { "loyalty", """{"elements": [{"type": "rating", "name": "csat", "isRequired": true}]}""", "metric" },
    };

    [Theory, MemberData(nameof(BadDefinitions))]
    public async Task ADefinitionThatCannotYieldAScoreOnTheMetricsScaleIsRefusedNamingTheField(string metric, string definition, string field)
    {
        using var admin = App(TestDatabases.Sqlite).Admin();

        var response = await admin.PostRawAsync("/api/v1/surveys", $$"""{"name": "Bad", "metric": "{{metric}}", "definition": {{definition}}}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.ReadJsonAsync()).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"{field} expected among {errors}");
    }

    [Fact]
    public async Task TheDefaultScalesAndExplicitRateValuesAreAccepted()
    {
        using var admin = App(TestDatabases.Sqlite).Admin();

        // SurveyJS's own defaults (1 to 5) are CSAT's scale; explicit values may carry texts.
        var plain = await admin.PostRawAsync("/api/v1/surveys", """{"name": "Plain", "metric": "csat", "definition": {"elements": [{"type": "rating", "name": "csat", "isRequired": true}]}}""");
        var values = await admin.PostRawAsync("/api/v1/surveys", """
            {"name": "Values", "metric": "nps", "definition": {"elements": [{"type": "rating", "name": "nps", "isRequired": true,
             "rateValues": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, {"value": 10, "text": "Ten!"}]}]}}
            """);

        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        Assert.Equal(HttpStatusCode.Created, values.StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ASubmittedSurveyCreatesOneResponseAndAnAlertThenTheLinkIsRefused(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var customerBrowser = app.Client(null);
        var (site, customer, token) = await InvitationAsync(admin, rule: true);

        var page = await customerBrowser.GetAsync($"/s/{token}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("no-store", page.Headers.CacheControl?.ToString());
        // Scripts only from this site, and no inline one at all: whatever a survey or an answer holds cannot bring in or run other code.
        Assert.Equal("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            string.Join(",", page.Headers.GetValues("Content-Security-Policy")));
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("/lib/survey-js-ui/survey-js-ui.min.js", html, StringComparison.Ordinal);
        Assert.DoesNotContain(customer, html, StringComparison.Ordinal);

        var answered = await customerBrowser.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 2, comment = "The agent hung up on me" } });
        Assert.True(answered.StatusCode == HttpStatusCode.OK, await answered.Content.ReadAsStringAsync());

        var response = Assert.Single(await ResponsesOfAsync(admin, customer));
        Assert.Equal("csat", response.GetProperty("metric").GetString());
        Assert.Equal(2, response.GetProperty("score").GetInt32());
        Assert.Equal("The agent hung up on me", response.GetProperty("comment").GetString());
        Assert.Equal(site, response.GetProperty("site").GetString());
        Assert.Equal(site + "-agent", response.GetProperty("agent").GetString());
        Assert.StartsWith("inv-", response.GetProperty("externalId").GetString(), StringComparison.Ordinal);
        var alerts = (await (await admin.GetAsync($"/api/v1/alerts?site={site}")).ReadJsonAsync()).GetProperty("items");
        Assert.Equal(1, alerts.GetArrayLength());

        var again = await customerBrowser.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 2, comment = "The agent hung up on me" } });
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
        var reopened = await customerBrowser.GetAsync($"/s/{token}");
        Assert.Equal(HttpStatusCode.Gone, reopened.StatusCode);
        Assert.Contains("already been answered", await reopened.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(await ResponsesOfAsync(admin, customer));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ConcurrentSubmitsOfOneInvitationCreateOneResponse(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        var (_, customer, token) = await InvitationAsync(admin);
        var (_, otherCustomer, otherToken) = await InvitationAsync(admin);

        // The same answers sent twice at once (a double tap), and different answers sent at once (two tabs).
        var same = Enumerable.Range(0, 6).Select(async _ =>
        {
            using var client = app.Client(null);
            return (await client.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 4 } })).StatusCode;
        });
        var different = Enumerable.Range(0, 6).Select(async i =>
        {
            using var client = app.Client(null);
            return (await client.PostJsonAsync($"/s/{otherToken}/answers", new { answers = new { csat = 1 + (i % 5) } })).StatusCode;
        });
        var statuses = await Task.WhenAll(same.Concat(different));

        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.Gone, s.ToString()));
        Assert.Single(await ResponsesOfAsync(admin, customer));
        Assert.Single(await ResponsesOfAsync(admin, otherCustomer));
        Assert.Contains(HttpStatusCode.OK, statuses[..6]);
        Assert.Contains(HttpStatusCode.OK, statuses[6..]);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AScoreOffTheScaleOrAnUnknownQuestionIsRefusedAndRecordsNothing(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var client = app.Client(null);
        var (_, customer, token) = await InvitationAsync(admin);

        foreach (var (answers, field) in new (object, string)[]
        {
            (new { csat = 9 }, "answers.csat"),
            (new { csat = 0 }, "answers.csat"),
            (new { csat = "5" }, "answers.csat"),
            (new { csat = 4.5 }, "answers.csat"),
            (new { comment = "no score" }, "answers.csat"),
            (new { csat = 3, comment = new string('x', 2001) }, "answers.comment"),
            (new { csat = 3, comment = 42 }, "answers.comment"),
            (new { csat = 3, isAdmin = true }, "answers.isAdmin"),
        })
        {
            var response = await client.PostJsonAsync($"/s/{token}/answers", new { answers });
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True((await response.ReadJsonAsync()).GetProperty("errors").TryGetProperty(field, out _), $"{field} expected for {JsonSerializer.Serialize(answers)}");
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostRawAsync($"/s/{token}/answers", "[1]")).StatusCode);
        Assert.Empty(await ResponsesOfAsync(admin, customer));

        // Nothing was used up: the customer can still answer.
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 3 } })).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task OpeningTheLinkWithAScoreFromAnEmailRecordsNothingUntilTheCustomerSends(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var scanner = app.Client(null);
        var (_, customer, token) = await InvitationAsync(admin);

        for (var i = 0; i < 3; i++)
        {
            var page = await scanner.GetAsync($"/s/{token}?score=1");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("&quot;prefill&quot;:{&quot;csat&quot;:1}", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.OK, (await scanner.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/s/{token}?score=1"))).StatusCode);
        // A score off the scale is not even pre-filled.
        Assert.Contains("&quot;prefill&quot;:null", await scanner.GetStringAsync($"/s/{token}?score=99"), StringComparison.Ordinal);

        Assert.Empty(await ResponsesOfAsync(admin, customer));
        var opened = await InvitationRowAsync(app, token);
        Assert.NotNull(opened.OpenedAt);
        Assert.Null(opened.AnsweredAt);
        Assert.Equal(HttpStatusCode.OK, (await scanner.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 1 } })).StatusCode);
        Assert.Equal(1, Assert.Single(await ResponsesOfAsync(admin, customer)).GetProperty("score").GetInt32());
        var answered = await InvitationRowAsync(app, token);
        Assert.Equal(opened.OpenedAt, answered.OpenedAt);
        Assert.NotNull(answered.AnsweredAt);
        Assert.NotNull(answered.ResponseId);
    }

    private static async Task<SurveyInvitation> InvitationRowAsync(TestApp app, string token)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<CloseloopDb>().SurveyInvitations.AsNoTracking().SingleAsync(i => i.Token == token);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnUnknownLinkIs404AndAnExpiredOneIs410(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var client = app.Client(null);
        var (_, customer, expired) = await InvitationAsync(admin, new { expiresIn = "PT1S" });
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/s/not-a-token")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostJsonAsync("/s/not-a-token/answers", new { answers = new { csat = 1 } })).StatusCode);
        var page = await client.GetAsync($"/s/{expired}");
        Assert.Equal(HttpStatusCode.Gone, page.StatusCode);
        Assert.Contains("closed", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Gone, (await client.PostJsonAsync($"/s/{expired}/answers", new { answers = new { csat = 1 } })).StatusCode);
        Assert.Empty(await ResponsesOfAsync(admin, customer));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnExpiryThatIsNotAPositiveDurationIsRefused(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        var customer = Unique.Id("cust");
        var contact = Unique.Id("contact");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(contact, customer, site: Unique.Id("site"), at: DateTimeOffset.UtcNow.AddHours(-1)))).StatusCode);
        foreach (var expiresIn in new object[] { "-P1D", "P0D", "PT0S", 5, "soon", "P400D" })
        {
            var refused = await admin.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = customer }, contactExternalId = contact, expiresIn });
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{expiresIn}: {(int)refused.StatusCode}");
            Assert.True((await refused.ReadJsonAsync()).GetProperty("errors").TryGetProperty("expiresIn", out _));
        }
        // A contact or survey named with a value of the wrong type is refused, not ignored, and named beside the rest.
        var wrongTypes = await admin.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = customer }, contactExternalId = 7, surveyId = "one", metric = "stars" });
        Assert.Equal(HttpStatusCode.BadRequest, wrongTypes.StatusCode);
        Assert.Equal(["contactExternalId", "metric", "surveyId"], (await wrongTypes.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        // None of those used up the customer's fatigue window.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/survey-invitations",
            new { customer = new { externalId = customer }, contactExternalId = contact, expiresIn = "P14D" })).StatusCode);
        // Weeks and fractions are ISO 8601 too, read as a rule's deadline is.
        foreach (var (expiresIn, hours) in new[] { ("P2W", 336.0), ("PT1.5H", 1.5) })
        {
            var other = Unique.Id("cust");
            Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("contact"), other, site: Unique.Id("site"), at: DateTimeOffset.UtcNow.AddHours(-1)))).StatusCode);
            var made = await admin.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = other }, expiresIn });
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
            Assert.InRange((await made.ReadJsonAsync()).GetProperty("expiresAt").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromHours(hours - 0.1), TimeSpan.FromHours(hours));
        }
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnInvitationToAStoredSurveyIsScoredOnItsMetricAndKeepsItsOtherAnswers(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var client = app.Client(null);
        var definition = new
        {
            title = "</script><script>window.__xss = 1</script>",
            elements = new object[]
            {
                Rating("nps", 0, 10),
                new { type = "radiogroup", name = "reason", choices = new[] { "price", "service" }, showOtherItem = true },
                new { type = "comment", name = "comment" },
            },
        };
        var survey = await (await admin.PostJsonAsync("/api/v1/surveys", new { name = "Loyalty", metric = "nps", definition })).ReadJsonAsync();
        var surveyId = survey.GetProperty("id").GetInt64();
        var mismatch = await admin.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = Unique.Id("x") }, surveyId, metric = "csat" });
        Assert.Equal(HttpStatusCode.BadRequest, mismatch.StatusCode);
        var (_, customer, token) = await InvitationAsync(admin, new { surveyId });

        var html = await client.GetStringAsync($"/s/{token}");
        Assert.Contains("&quot;name&quot;:&quot;reason&quot;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>window.__xss", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 5 } })).StatusCode);
        var sent = await client.PostJsonAsync($"/s/{token}/answers", new Dictionary<string, object>
        {
            ["answers"] = new Dictionary<string, object> { ["nps"] = 0, ["reason"] = "other", ["reason-Comment"] = "<b>late</b>", ["comment"] = "Never again" },
        });
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);

        var response = Assert.Single(await ResponsesOfAsync(admin, customer));
        Assert.Equal("nps", response.GetProperty("metric").GetString());
        Assert.Equal(0, response.GetProperty("score").GetInt32());
        Assert.Equal("Never again", response.GetProperty("comment").GetString());
    }

    [Fact]
    public async Task ThePublicPageAndItsAnswersAreRateLimitedPerClient()
    {
        await using var app = new TestApp(TestDatabases.Sqlite, new Dictionary<string, string?> { ["Surveys:PublicRequestsPerMinute"] = "3" });
        using var admin = app.Admin();
        using var client = app.Client(null);
        var (_, _, token) = await InvitationAsync(admin);

        var statuses = new List<HttpStatusCode>
        {
            (await client.GetAsync($"/s/{token}")).StatusCode,
            (await client.GetAsync("/s/guess-1")).StatusCode,
            (await client.PostJsonAsync("/s/guess-2/answers", new { answers = new { csat = 1 } })).StatusCode,
            (await client.GetAsync("/s/guess-3")).StatusCode,
            (await client.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 1 } })).StatusCode,
        };

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        // The API is not limited by it.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/surveys")).StatusCode);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ACustomerIsNotAskedAgainSoonNorWhileAnAlertIsOpenNorOnDoNotContactNorOutsideTheSample(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();

        var (site, surveyed, _) = await InvitationAsync(admin);
        Assert.Equal("recently_surveyed", await RefusalAsync(admin, new { customer = new { externalId = surveyed } }));

        await RuleAsync(admin, site);
        var unhappy = Unique.Id("cust");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), unhappy, "csat", 1, site: site))).StatusCode);
        Assert.Equal("open_alert", await RefusalAsync(admin, new { customer = new { externalId = unhappy } }));

        var optedOut = Unique.Id("cust");
        await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), optedOut, site: site));
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsync($"/api/v1/customers/{optedOut}", System.Net.Http.Json.JsonContent.Create(new { doNotContact = true }))).StatusCode);
        Assert.Equal("do_not_contact", await RefusalAsync(admin, new { customer = new { externalId = optedOut } }));

        var sampledOut = Unique.Id("cust");
        var contact = Unique.Id("c");
        await admin.PostJsonAsync("/api/v1/contacts", new
        {
            externalId = contact, customer = new { externalId = sampledOut }, channel = "chat", occurredAt = DateTimeOffset.UtcNow.ToString("O"), site, queue = "never-sampled",
        });
        Assert.Equal("not_sampled", await RefusalAsync(admin, new { customer = new { externalId = sampledOut }, contactExternalId = contact }));
        // Without the sampled contact the customer may still be asked.
        Assert.Null(await RefusalAsync(admin, new { customer = new { externalId = sampledOut } }));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AFollowUpSurveyAfterAnAlertIsAnsweredWhereTheAlertBelongs(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var client = app.Client(null);
        var site = Unique.Id("site");
        var customer = Unique.Id("cust");
        await RuleAsync(admin, site);
        await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), customer, "csat", 1, site: site, team: site + "-team", agent: site + "-agent"));
        var alert = (await (await admin.GetAsync($"/api/v1/alerts?site={site}")).ReadJsonAsync()).GetProperty("items")[0].GetProperty("id").GetInt64();
        // As resolving the alert makes it: no contact, the alert's id, the customer's channel.
        var token = Unique.Id("followup");
        await using (var scope = app.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
            var customerId = await db.Customers.Where(c => c.ExternalId == customer).Select(c => c.Id).SingleAsync();
            db.SurveyInvitations.Add(new SurveyInvitation
            {
                Token = token, CustomerId = customerId, AlertId = alert, Metric = "csat", Channel = "email",
                CreatedAt = DateTimeOffset.UtcNow, ExpiresAt = DateTimeOffset.UtcNow.AddDays(1),
            });
            await db.SaveChangesAsync();
        }

        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 4 } })).StatusCode);

        var followUp = (await ResponsesOfAsync(admin, customer)).Single(r => r.GetProperty("score").GetInt32() == 4);
        Assert.Equal(site, followUp.GetProperty("site").GetString());
        Assert.Equal(site + "-agent", followUp.GetProperty("agent").GetString());
        Assert.Equal("email", followUp.GetProperty("channel").GetString());
    }
    [Theory, MemberData(nameof(Providers))]
    public async Task ConcurrentInvitationsOfOneCustomerMakeOneAndTheRestAreHeldBack(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        var customer = Unique.Id("cust");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer, site: Unique.Id("site"), at: DateTimeOffset.UtcNow.AddHours(-1)))).StatusCode);

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => admin.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = customer } })));

        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        Assert.All(answers.Where(a => a.StatusCode != HttpStatusCode.Created), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnInvitationAboutNoContactIsAnsweredAtTheInvitingSite(string provider)
    {
        var app = App(provider);
        using var admin = app.Admin();
        using var client = app.Client(null);
        var (north, south) = (Unique.Id("north"), Unique.Id("south"));
        var customer = Unique.Id("cust");
        // The customer last dealt with north, but south's key invites them.
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer, site: south, at: DateTimeOffset.UtcNow.AddDays(-20)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer, site: north, at: DateTimeOffset.UtcNow.AddHours(-1)))).StatusCode);
        using var southKey = app.Client(await app.CreateKeyAsync("site_manager", south));

        var invited = await southKey.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = customer } });
        Assert.Equal(HttpStatusCode.Created, invited.StatusCode);
        var token = (await invited.ReadJsonAsync()).GetProperty("token").GetString();
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync($"/s/{token}/answers", new { answers = new { csat = 2 } })).StatusCode);

        // The answer is south's: south sees it on the customer's timeline, and it is measured there.
        var answer = Assert.Single(await ResponsesOfAsync(southKey, customer));
        Assert.Equal(south, answer.GetProperty("site").GetString());
        var metrics = await (await southKey.GetAsync("/api/v1/metrics?groupBy=site")).ReadJsonAsync();
        Assert.Equal(1, metrics.GetProperty("total").GetProperty("csat").GetProperty("n").GetInt32());
    }
}
