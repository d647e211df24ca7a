using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>The real executable: killed mid-ingest, and its CLI verbs.</summary>
public sealed class ProcessTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task EveryAcknowledgedRecordSurvivesAKillDuringIngest(string provider)
    {
        var connection = TestDatabases.CreateDatabase(provider);
        var acknowledged = new ConcurrentBag<string>();
        await using (var server = await AppProcess.StartServerAsync(provider, connection))
        {
            using var client = server.Client();
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var id = $"kill-{w}-{i}";
                    try
                    {
                        var response = await client.PostJsonAsync("/api/v1/responses", Json.Response(id, $"cust-{i % 50}", "csat", 1 + (i % 5), "Still waiting for my refund", site: "north", channel: "phone"));
                        if (response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK)
                        {
                            acknowledged.Add(id);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                    catch (TaskCanceledException)
                    {
                        return;
                    }
                }
            })).ToArray();
            while (acknowledged.Count < 300)
            {
                await Task.Delay(20);
            }
            // Kill while requests are in flight: those not yet answered may be lost, the answered ones never.
            server.Kill();
            stop.Cancel();
            await Task.WhenAll(writers);
        }

        await using var restarted = await AppProcess.StartServerAsync(provider, connection);
        using var check = restarted.Client();
        var missing = new List<string>();
        foreach (var id in acknowledged)
        {
            if ((await check.GetAsync($"/api/v1/responses/{id}")).StatusCode != HttpStatusCode.OK)
            {
                missing.Add(id);
            }
        }
        Assert.True(acknowledged.Count >= 300);
        Assert.Empty(missing);
        // The rollups were written in the same transactions, so the measures agree with the records.
        var metrics = await (await check.GetAsync("/api/v1/metrics?site=north")).ReadJsonAsync();
        Assert.True(metrics.GetProperty("total").GetProperty("csat").GetProperty("n").GetInt32() >= acknowledged.Count);
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task CsvImportStoresTheGoodRowsAndReportsEachBadRowWithItsLine(string provider)
    {
        var connection = TestDatabases.CreateDatabase(provider);
        await AppProcess.RunAsync(provider, connection, "migrate");
        using var file = new TempFile("responses", ".csv");
        await File.WriteAllTextAsync(file, """
            externalId,customerExternalId,customerEmail,metric,score,comment,respondedAt,site,team,agent,channel
            imp-1,cust-1,one@example.com,csat,5,"Quick and friendly, thanks",2026-11-01T10:00:00Z,north,north-a,ann,phone
            imp-2,cust-2,,nps,11,Out of scale,2026-11-01T11:00:00Z,north,north-a,ann,phone
            imp-3,cust-3,,ces,6,"A comment with ""quotes""
            over two lines",2026-11-01T12:00:00Z,north,north-a,bob,chat
            imp-4,,,csat,3,No customer,2026-11-01T13:00:00Z,north,north-a,bob,chat
            imp-5,cust-5,,csat,two,Not a number,2026-11-01T14:00:00Z,north,north-a,bob,fax
            imp-6,cust-6,,nps,0,Never again,2026-11-01T15:00:00Z,south,south-a,cy,email

            """);

        var (exit, output) = await AppProcess.RunAsync(provider, connection, "import", "responses", file);

        Assert.Equal(1, exit);
        Assert.Contains("line 3:", output, StringComparison.Ordinal);
        Assert.Contains("line 6:", output, StringComparison.Ordinal);
        Assert.Contains("line 7:", output, StringComparison.Ordinal);
        Assert.Contains("score", output, StringComparison.Ordinal);
        Assert.Contains("customer.externalId", output, StringComparison.Ordinal);
        Assert.Contains("channel", output, StringComparison.Ordinal);
        Assert.Contains("6 rows: 3 created, 0 already present, 3 refused.", output, StringComparison.Ordinal);

        // Imported again, nothing is doubled.
        var (_, again) = await AppProcess.RunAsync(provider, connection, "import", "responses", file);
        Assert.Contains("6 rows: 0 created, 3 already present, 3 refused.", again, StringComparison.Ordinal);

        await using var server = await AppProcess.StartServerAsync(provider, connection);
        using var client = server.Client();
        var multiline = await (await client.GetAsync("/api/v1/responses/imp-3")).ReadJsonAsync();
        Assert.Equal("A comment with \"quotes\"\nover two lines", multiline.GetProperty("comment").GetString());
        var metrics = await (await client.GetAsync("/api/v1/metrics")).ReadJsonAsync();
        Assert.Equal(1, metrics.GetProperty("total").GetProperty("csat").GetProperty("n").GetInt32());
        Assert.Equal(1, metrics.GetProperty("total").GetProperty("nps").GetProperty("n").GetInt32());
        Assert.Equal(1, metrics.GetProperty("total").GetProperty("ces").GetProperty("n").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ALargeCsvImportIsWrittenInFileOrderAndReportsProblemsInLineOrder(string provider)
    {
        // 12,000 rows make three chunks: each chunk is parsed while the one before it is written, so a retry of an
        // earlier row, a conflicting one and bad rows land in different stages at the same time.
        var connection = TestDatabases.CreateDatabase(provider);
        await AppProcess.RunAsync(provider, connection, "migrate");
        using var file = new TempFile("responses", ".csv");
        string Row(int i, int? score = null) =>
            $"big-{i},cust-{i % 900},csat,{score ?? 1 + (i % 5)},{(i % 3 == 0 ? "Fine" : "")},2026-11-{1 + (i % 28):00}T10:00:00Z,{Site(i)},phone";
        string Site(int i) => i / 3 % 2 == 0 ? "north" : "south";
        var lines = new List<string> { "externalId,customerExternalId,metric,score,comment,respondedAt,site,channel" };
        var bad = new List<int>();
        for (var i = 0; i < 12_000; i++)
        {
            var line = lines.Count + 1;
            if (i % 2_500 == 7)
            {
                bad.Add(line);
                lines.Add($"big-{i},cust-{i % 900},nps,12,Out of scale,2026-11-01T10:00:00Z,north,phone");
            }
            else if (i == 9_000)
            {
                lines.Add(Row(12)); // row 12 again: already present
            }
            else if (i == 10_001)
            {
                bad.Add(line);
                lines.Add(Row(20, score: 5)); // row 20's id with other content: a conflict, found when written, after the parse problem of line 10,009
            }
            else
            {
                lines.Add(Row(i));
            }
        }
        await File.WriteAllLinesAsync(file, lines);

        var (exit, output) = await AppProcess.RunAsync(provider, connection, "import", "responses", file);

        Assert.Equal(1, exit);
        Assert.Contains($"12000 rows: {12_000 - 1 - bad.Count} created, 1 already present, {bad.Count} refused.", output, StringComparison.Ordinal);
        var reported = System.Text.RegularExpressions.Regex.Matches(output, @"^line (\d+):", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(bad, reported);
        await using var server = await AppProcess.StartServerAsync(provider, connection);
        using var client = server.Client();
        var csat = (await (await client.GetAsync("/api/v1/metrics?from=2026-11-01&to=2026-11-30")).ReadJsonAsync()).GetProperty("total").GetProperty("csat");
        Assert.Equal(12_000 - 1 - bad.Count, csat.GetProperty("n").GetInt32());
        // Each chunk spans 28 days at two sites: each day and site counts exactly its rows.
        var stored = Enumerable.Range(0, 12_000).Where(i => i % 2_500 != 7 && i != 9_000 && i != 10_001).ToList();
        foreach (var site in new[] { "north", "south" })
        {
            var days = (await (await client.GetAsync($"/api/v1/metrics?from=2026-11-01&to=2026-11-30&groupBy=day&site={site}")).ReadJsonAsync())
                .GetProperty("groups").EnumerateArray().ToDictionary(g => g.GetProperty("key").GetString()!, g => g.GetProperty("csat").GetProperty("n").GetInt32());
            var expected = stored.Where(i => Site(i) == site).GroupBy(i => $"2026-11-{1 + (i % 28):00}").ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal(expected.OrderBy(e => e.Key), days.OrderBy(e => e.Key));
        }
        Assert.Equal("Fine", (await (await client.GetAsync("/api/v1/responses/big-12")).ReadJsonAsync()).GetProperty("comment").GetString());
        Assert.Equal(1, (await (await client.GetAsync("/api/v1/responses/big-20")).ReadJsonAsync()).GetProperty("score").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task AnExportImportsIntoAnotherDatabaseAsTheSameRecordsAndACustomerExportsWhole(string provider)
    {
        var source = TestDatabases.CreateDatabase(provider);
        var comments = new[]
        {
            "Charged twice, \"again\", and\nnobody called back",
            "=HYPERLINK(\"http://evil.example\",\"click\")",
            "-5 stars if I could",
            "Ça marche très bien 👍",
        };
        await using (var server = await AppProcess.StartServerAsync(provider, source))
        {
            using var client = server.Client();
            (await client.PostJsonAsync("/api/v1/contacts", Json.Contact("ex-c1", "ex-cust-1", "phone", site: "north", team: "north-care", agent: "ann",
                reason: "billing", resolved: false, summary: "Double charge, second call", email: "ex1@example.com"))).EnsureSuccessStatusCode();
            (await client.PostJsonAsync("/api/v1/contacts", Json.Contact("ex-c2", "ex-cust-1", "chat", at: DateTimeOffset.Parse("2026-11-03T09:00:00.250Z", System.Globalization.CultureInfo.InvariantCulture),
                site: "north", team: "north-care", agent: "bob", reason: "billing", resolved: true))).EnsureSuccessStatusCode();
            for (var i = 0; i < comments.Length; i++)
            {
                var response = i % 2 == 0
                    ? Json.Response($"ex-r{i}", "ex-cust-1", "csat", 1 + i, comments[i], contact: "ex-c1")
                    : Json.Response($"ex-r{i}", $"ex-cust-{i + 10}", "nps", 2 * i, comments[i], site: "south", team: "south-web", agent: "cy", channel: "email");
                (await client.PostJsonAsync("/api/v1/responses", response)).EnsureSuccessStatusCode();
            }
            (await client.PostJsonAsync("/api/v1/customers/ex-cust-1/notes", new { kind = "preference", text = "Call after 6 pm" })).EnsureSuccessStatusCode();
            (await client.PostJsonAsync("/api/v1/survey-invitations", new { customer = new { externalId = "ex-cust-1" }, metric = "nps" })).EnsureSuccessStatusCode();
        }

        using var responsesFile = new TempFile("export-responses", ".csv");
        using var contactsFile = new TempFile("export-contacts", ".csv");
        var (exit, output) = await AppProcess.RunAsync(provider, source, "export", "responses", responsesFile);
        Assert.True(exit == 0, output);
        Assert.Contains("4 responses exported", output, StringComparison.Ordinal);
        (exit, output) = await AppProcess.RunAsync(provider, source, "export", "contacts", contactsFile, "--from", "2026-11-02", "--to", "2026-11-03");
        Assert.True(exit == 0, output);
        Assert.Contains("2 contacts exported", output, StringComparison.Ordinal);
        // A spreadsheet would run this comment as a formula: the file guards it, and the import takes the guard off.
        Assert.Contains("\"'=HYPERLINK(", await File.ReadAllTextAsync(responsesFile), StringComparison.Ordinal);
        (exit, output) = await AppProcess.RunAsync(provider, source, "export", "contacts", "--site", "south");
        Assert.True(exit == 0, output);
        Assert.StartsWith("externalId,customerExternalId,customerName,customerEmail,customerPhone,customerHandle,channel,", output, StringComparison.Ordinal);
        Assert.Contains("0 contacts exported", output, StringComparison.Ordinal);

        var target = TestDatabases.CreateDatabase(provider);
        (exit, output) = await AppProcess.RunAsync(provider, target, "migrate");
        Assert.True(exit == 0, output);
        (exit, output) = await AppProcess.RunAsync(provider, target, "import", "contacts", contactsFile);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain("ignoring", output, StringComparison.Ordinal);
        (exit, output) = await AppProcess.RunAsync(provider, target, "import", "responses", responsesFile);
        Assert.True(exit == 0, output);
        Assert.Contains("4 rows: 4 created", output, StringComparison.Ordinal);

        await using (var before = await AppProcess.StartServerAsync(provider, source))
        await using (var after = await AppProcess.StartServerAsync(provider, target))
        {
            using var a = before.Client();
            using var b = after.Client();
            static string Without(JsonElement record, params string[] names) =>
                JsonSerializer.Serialize(record.EnumerateObject().Where(p => !names.Contains(p.Name)).ToDictionary(p => p.Name, p => p.Value));
            for (var i = 0; i < comments.Length; i++)
            {
                var original = await (await a.GetAsync($"/api/v1/responses/ex-r{i}")).ReadJsonAsync();
                var copy = await (await b.GetAsync($"/api/v1/responses/ex-r{i}")).ReadJsonAsync();
                Assert.Equal(comments[i], copy.GetProperty("comment").GetString());
                Assert.Equal(Without(original, "receivedAt"), Without(copy, "receivedAt"));
            }
            var contact = await (await b.GetAsync("/api/v1/contacts/ex-c2")).ReadJsonAsync();
            Assert.Equal(2, contact.GetProperty("issue").GetProperty("contactCount").GetInt32());
            // To the millisecond, and the customer with the contact points the source had.
            Assert.Equal(Without(await (await a.GetAsync("/api/v1/contacts/ex-c2")).ReadJsonAsync(), "receivedAt"), Without(contact, "receivedAt"));
            Assert.Equal((await (await a.GetAsync("/api/v1/customers/ex-cust-1")).ReadJsonAsync()).GetProperty("contactPoints").GetRawText(),
                (await (await b.GetAsync("/api/v1/customers/ex-cust-1")).ReadJsonAsync()).GetProperty("contactPoints").GetRawText());
            var metrics = "/api/v1/metrics?from=2026-11-01&to=2026-11-30&groupBy=site";
            Assert.Equal((await (await a.GetAsync(metrics)).ReadJsonAsync()).GetProperty("groups").GetRawText(),
                (await (await b.GetAsync(metrics)).ReadJsonAsync()).GetProperty("groups").GetRawText());
        }

        using var customerFile = new TempFile("export-customer", ".json");
        (exit, output) = await AppProcess.RunAsync(provider, source, "export", "customer", "ex-cust-1", customerFile);
        Assert.True(exit == 0, output);
        var document = JsonDocument.Parse(await File.ReadAllTextAsync(customerFile)).RootElement;
        Assert.Equal("ex1@example.com", document.GetProperty("profile").GetProperty("contactPoints")[0].GetProperty("value").GetString());
        Assert.Equal("Call after 6 pm", document.GetProperty("preferences").GetProperty("notes")[0].GetProperty("text").GetString());
        Assert.Equal(["note", "contact", "response", "response", "contact"],
            document.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("kind").GetString()).ToList());
        // The invitations sent to the customer are theirs too, without the token (a live credential while open).
        var invitation = Assert.Single(document.GetProperty("surveyInvitations").EnumerateArray());
        Assert.Equal("nps", invitation.GetProperty("metric").GetString());
        Assert.False(invitation.TryGetProperty("token", out _));
        Assert.Equal(JsonValueKind.Array, document.GetProperty("messages").ValueKind);
        (exit, output) = await AppProcess.RunAsync(provider, source, "export", "customer", "nobody-here");
        Assert.Equal(1, exit);
        Assert.Contains("No customer 'nobody-here'", output, StringComparison.Ordinal);
        Assert.False(File.Exists(customerFile + ".partial"));
    }

    [Fact]
    public async Task CsvImportOfContactsChainsRepeatsIntoIssues()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("contacts", ".csv");
        await File.WriteAllTextAsync(file, """
            externalId;customerExternalId;channel;occurredAt;site;reason;resolved;summary
            ci-1;cust-1;phone;2026-11-01T10:00:00Z;north;billing;true;Charged twice
            ci-2;cust-1;chat;2026-11-02T10:00:00Z;north;billing;yes;Still charged twice
            ci-3;cust-2;email;2026-11-02T10:00:00Z;north;delivery;false;Parcel missing
            """);

        var (exit, output) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "import", "contacts", file);

        Assert.True(exit == 0, output);
        Assert.Contains("3 rows: 3 created", output, StringComparison.Ordinal);
        await using var server = await AppProcess.StartServerAsync(TestDatabases.Sqlite, connection);
        using var client = server.Client();
        var fcr = (await (await client.GetAsync("/api/v1/metrics")).ReadJsonAsync()).GetProperty("total").GetProperty("fcr");
        Assert.Equal(2, fcr.GetProperty("n").GetInt32());
        Assert.Equal(0, fcr.GetProperty("resolved").GetInt32());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ANewerRecordWinsOverAProfileTheCliChangedBesideTheServer(string provider)
    {
        var connection = TestDatabases.CreateDatabase(provider);
        await using var server = await AppProcess.StartServerAsync(provider, connection);
        using var client = server.Client();
        object Contact(string id, string email, string at) => new
        {
            externalId = id, customer = new { externalId = "STALE-1", email }, channel = "phone", occurredAt = at,
        };
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/contacts", Contact("st-1", "a@example.com", "2026-01-10T00:00:00Z"))).StatusCode);

        // The CLI, beside the running server, imports a newer record with another address...
        using var file = new TempFile("contacts", ".csv");
        await File.WriteAllTextAsync(file, "externalId,customerExternalId,customerEmail,channel,occurredAt\nst-2,STALE-1,b@example.com,phone,2026-01-20T00:00:00Z\n");
        var (exit, output) = await AppProcess.RunAsync(provider, connection, "import", "contacts", file);
        Assert.True(exit == 0, output);
        async Task<string?> EmailAsync() => (await (await client.GetAsync("/api/v1/customers/STALE-1")).ReadJsonAsync()).GetProperty("contactPoints").EnumerateArray()
            .Where(p => p.GetProperty("channel").GetString() == "email").Select(p => p.GetProperty("value").GetString()).SingleOrDefault();
        Assert.Equal("b@example.com", await EmailAsync());

        // ...and a newer record still, through the server, names the first address again: the newest wins, though
        // the server's own memory of the profile said nothing had changed.
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/contacts", Contact("st-3", "a@example.com", "2026-01-25T00:00:00Z"))).StatusCode);
        Assert.Equal("a@example.com", await EmailAsync());

        // The CLI changes it again, then one batch names the customer three times, with the address the server last
        // stored: the writer reads the stored profile once for the whole commit (on PostgreSQL; SQLite drops its memory
        // when another connection commits), and each record merges into what the one before it left.
        await File.WriteAllTextAsync(file, "externalId,customerExternalId,customerEmail,channel,occurredAt\nst-4,STALE-1,c@example.com,phone,2026-01-26T00:00:00Z\n");
        (exit, output) = await AppProcess.RunAsync(provider, connection, "import", "contacts", file);
        Assert.True(exit == 0, output);
        var batch = await client.PostJsonAsync("/api/v1/contacts/batch", new[]
        {
            Contact("st-5", "a@example.com", "2026-01-28T00:00:00Z"),
            Contact("st-6", "old@example.com", "2026-01-21T00:00:00Z"),
            Contact("st-7", "a@example.com", "2026-01-29T00:00:00Z"),
        });
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Equal("a@example.com", await EmailAsync());
    }

    [PostgresFact]
    public async Task WhileTheDatabaseIsAwayRequestsAnswer503WithRetryAfterAndARetryAfterwardsStoresTheRecord()
    {
        var direct = new Npgsql.NpgsqlConnectionStringBuilder(TestDatabases.CreateDatabase(TestDatabases.Postgres));
        await using var relay = new TcpForwarder(direct.Host!, direct.Port);
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(direct.ConnectionString) { Host = "127.0.0.1", Port = relay.Port, Timeout = 3 }.ConnectionString;
        await using var server = await AppProcess.StartServerAsync(TestDatabases.Postgres, connection);
        using var client = server.Client();
        var record = Json.Response("away-1", "AWAY-1", "csat", 2, "Still waiting for the refund");
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/responses", Json.Response("away-0", "AWAY-1", "csat", 4))).StatusCode);

        relay.Stop();
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => client.PostJsonAsync("/api/v1/responses", record),
            () => client.GetAsync("/api/v1/customers/AWAY-1/timeline"),
            () => client.PostJsonAsync("/api/v1/responses", record),
        })
        {
            var answer = await request();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.StatusCode);
            Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(5), answer.Headers.RetryAfter?.Delta);
        }
        // A load balancer's probe sees it too.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health")).StatusCode);

        // The database comes back: the client's retry stores the record once, and nothing else went in meanwhile.
        relay.Start();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/responses", record)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/responses", record)).StatusCode);
        var timeline = await (await client.GetAsync("/api/v1/customers/AWAY-1/timeline")).ReadJsonAsync();
        Assert.Equal(2, timeline.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task AServerThatCannotStartSaysWhyInOneLineAndExitsWithOne()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (exit, output) = await AppProcess.RunAsync(TestDatabases.Sqlite, TestDatabases.CreateDatabase(TestDatabases.Sqlite), "serve", "--urls", $"http://127.0.0.1:{port}");
        Assert.Equal(1, exit);
        Assert.Contains($"Closeloop could not start: Failed to bind to address http://127.0.0.1:{port}: address already in use.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMalformedPostgresConnectionStringIsOneLineThatDoesNotQuoteIt()
    {
        var (exit, output) = await AppProcess.RunAsync(TestDatabases.Postgres, "Host=127.0.0.1;Password=s3cret-pa55;Username", "migrate");
        Assert.Equal(1, exit);
        Assert.Contains("ConnectionStrings:Closeloop is not a valid PostgreSQL connection string", output, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", output, StringComparison.Ordinal);
        AppProcess.AssertNoCrash(output);
    }

    [Fact]
    public async Task BehindAKnownProxyTheThrottleCountsEachClientAndCookiesAreSecure()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        await using var server = await AppProcess.StartServerAsync(TestDatabases.Sqlite, connection,
            "--ForwardedHeaders:KnownProxies=127.0.0.1", "--ApiKeys:MaxFailuresPerAddress=3");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        async Task<HttpStatusCode> GuessAsync(string clientAddress)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/sites");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "not-a-key");
            request.Headers.Add("X-Forwarded-For", clientAddress);
            return (await client.SendAsync(request)).StatusCode;
        }

        // One client behind the proxy guesses too often: it is throttled, the client beside it is not.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await GuessAsync("203.0.113.7"));
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, await GuessAsync("203.0.113.7"));
        Assert.Equal(HttpStatusCode.Unauthorized, await GuessAsync("203.0.113.8"));

        // The proxy received HTTPS: the sign-in form's anti-forgery cookie is Secure.
        using var login = new HttpRequestMessage(HttpMethod.Get, "/login");
        login.Headers.Add("X-Forwarded-Proto", "https");
        var page = await client.SendAsync(login);
        Assert.Contains(page.Headers.GetValues("Set-Cookie"), c => c.StartsWith("closeloop-af=", StringComparison.Ordinal) && c.Contains("secure", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task TheCliCreatesAnApiKeyThatTheServerAccepts()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        var (exit, output) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "apikey", "create", "--name", "telephony", "--role", "integration");
        Assert.Equal(0, exit);
        // The key is stdout's line; log lines (a migration applied on the way) are stderr's.
        var key = output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("cl_", StringComparison.Ordinal)) ?? output;
        Assert.StartsWith("cl_", key, StringComparison.Ordinal);

        await using var server = await AppProcess.StartServerAsync(TestDatabases.Sqlite, connection);
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.Created, (await client.PostJsonAsync("/api/v1/contacts", Json.Contact("cli-1", "cust"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/api-keys")).StatusCode);

        // Through real Kestrel (the test host builds paths its own way): an id whose text holds "%2F" or a percent
        // sign is its own record and customer, not the one with a slash, and each is read at its Location.
        foreach (var id in new[] { "pct/b", "pct%2Fb", "pct%252Fb", "pct-50%" })
        {
            var posted = await client.PostJsonAsync("/api/v1/contacts", Json.Contact(id, id, summary: id));
            Assert.Equal(HttpStatusCode.Created, posted.StatusCode);
            var back = await client.GetAsync(posted.Headers.Location);
            Assert.True(back.StatusCode == HttpStatusCode.OK, $"{id} at {posted.Headers.Location}: {back.StatusCode}");
            Assert.Equal(id, (await back.ReadJsonAsync()).GetProperty("externalId").GetString());
            var timeline = await client.GetAsync($"/api/v1/customers/{Uri.EscapeDataString(id)}/timeline");
            Assert.Equal(id, (await timeline.ReadJsonAsync()).GetProperty("customerExternalId").GetString());
        }
    }

    [Fact]
    public async Task TheDemoLoadsAMonthForThreeSitesOneOfThemAVendor()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        var (exit, output) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "demo");
        Assert.True(exit == 0, output);

        await using var server = await AppProcess.StartServerAsync(TestDatabases.Sqlite, connection);
        using var client = server.Client();
        var sites = await (await client.GetAsync("/api/v1/sites")).ReadJsonAsync();
        Assert.Equal(3, sites.GetArrayLength());
        Assert.Contains(sites.EnumerateArray(), s => s.GetProperty("kind").GetString() == "vendor");
        var report = await (await client.GetAsync("/api/v1/metrics?groupBy=site")).ReadJsonAsync();
        var total = report.GetProperty("total");
        Assert.True(total.GetProperty("fcr").GetProperty("n").GetInt32() > 8000);
        Assert.True(total.GetProperty("csat").GetProperty("n").GetInt32() > 1000);
        var fcr = total.GetProperty("fcr").GetProperty("value").GetDouble();
        Assert.InRange(fcr, 50, 95);
        Assert.Equal(JsonValueKind.Number, total.GetProperty("nps").GetProperty("value").ValueKind);
        Assert.Contains("Demo people", output, StringComparison.Ordinal);
        // The demo's rules were active while the month loaded: unhappy customers raised alerts with owners.
        var alerts = (await (await client.GetAsync("/api/v1/alerts?limit=500")).ReadJsonAsync()).GetProperty("items");
        Assert.True(alerts.GetArrayLength() > 50, $"{alerts.GetArrayLength()} alerts");
        Assert.Contains(alerts.EnumerateArray(), a => a.GetProperty("owner").GetString()!.StartsWith("supervisor.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheCliAddsListsAndSwitchesOffAlertRules()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("rule", ".json");
        // The owner must be somebody, as for POST /api/v1/alert-rules.
        await File.WriteAllTextAsync(file, """{"name":"Detractor","when":{"field":"npsCategory","op":"eq","value":"detractor"},"owner":{"kind":"user","email":"rec@example.com"},"deadline":"PT2H"}""");
        using var bad = new TempFile("rule", ".json");
        await File.WriteAllTextAsync(bad, """{"name":"Never","when":{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"gt","value":9}]},"owner":{"kind":"pool","name":"x"},"deadline":"PT2H"}""");

        var (created, createOutput) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "user", "create", "--email", "rec@example.com", "--password", "a-long-password-1", "--role", "recovery");
        Assert.True(created == 0, createOutput);
        var (added, addOutput) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "rules", "add", file);
        var (refused, refusedOutput) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "rules", "add", bad);
        var (_, disabled) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "rules", "disable", "1");
        var (_, list) = await AppProcess.RunAsync(TestDatabases.Sqlite, connection, "rules", "list");

        Assert.True(added == 0, addOutput);
        Assert.Contains("Detractor", addOutput, StringComparison.Ordinal);
        Assert.Equal(1, refused);
        Assert.Contains("when: can never match", refusedOutput, StringComparison.Ordinal);
        Assert.Contains("1\tdisabled", disabled, StringComparison.Ordinal);
        Assert.Contains("1\tdisabled\tDetractor", list, StringComparison.Ordinal);
    }
}
