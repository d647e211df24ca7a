using System.Globalization;
using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Insights;
using Closeloop.Organisation;
using Closeloop.Responses;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Demo;

/// <summary>
/// A realistic month for three sites, one an outsourced vendor: 10,000 contacts on every channel, repeat
/// contacts that break first-contact resolution, and survey responses whose scores agree with what the
/// customers wrote (comments and queries are real customer text, see Demo/Resources/README.md).
/// </summary>
public static class DemoData
{
    private static readonly (string Code, string Name, string Kind, string TimeZone, string[] Teams)[] Sites =
    [
        ("north", "North (Leeds)", SiteKinds.InHouse, "Europe/London", ["north-billing", "north-support"]),
        ("south", "South (Austin)", SiteKinds.InHouse, "America/Chicago", ["south-billing", "south-retention"]),
        ("acme", "Acme Outsourcing (Manila)", SiteKinds.Vendor, "Asia/Manila", ["acme-general", "acme-tech"]),
    ];

    private static readonly string[] FirstNames = ["Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava", "Elijah", "Mia", "James", "Sofia", "Lucas", "Grace", "Mateo", "Chloe", "Ethan", "Priya", "Arjun", "Mei", "Kenji", "Fatima", "Omar", "Zoe", "Leo", "Hannah", "Jose", "Maria", "Aisha", "David", "Sara"];
    private static readonly string[] LastNames = ["Smith", "Jones", "Garcia", "Brown", "Wilson", "Taylor", "Nguyen", "Patel", "Kim", "Santos", "Reyes", "Cruz", "Walker", "Hughes", "Khan", "Ali", "Murphy", "Lopez", "Clarke", "Evans"];
    private static readonly string[] ChannelMix = ["phone", "phone", "phone", "phone", "chat", "chat", "chat", "email", "email", "sms", "social", "web_form", "ivr", "in_person"];

    // Written for the demo (the public data sets have no survey comments that state contact preferences).
    private static readonly string[] PreferenceSentences =
    [
        "Please only contact me by email.",
        "Please don't call me at work.",
        "Call me after 6pm please.",
        "I am hard of hearing, so please write to me instead of calling.",
        "The best time to reach me is in the morning.",
        "I speak Spanish.",
    ];

    public static async Task<bool> LoadIfEmptyAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken)
    {
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
            if (await db.Contacts.AnyAsync(cancellationToken))
            {
                // The month is written relative to now, so a second run cannot finish one that was stopped half-way:
                // its records would differ from the stored ones under the same external ids.
                output.WriteLine(await db.Contacts.AnyAsync(c => c.ExternalId.StartsWith("DEMO-C-"), cancellationToken)
                    ? "Demo data not loaded: the database already holds demo data. If the run that loaded it was stopped before it printed \"Demo data loaded\", start again from an empty database (for SQLite, delete the database file)."
                    : "Demo data not loaded: the database already holds contacts.");
                return false;
            }
        }
        await LoadAsync(services, output, cancellationToken);
        return true;
    }

    public static async Task LoadAsync(IServiceProvider services, TextWriter output, CancellationToken cancellationToken, int contactCount = 10_000, int seed = 2026)
    {
        var random = new Random(seed);
        // Its own sequence, so the month's records stay the ones the benchmarks describe.
        var voices = new Random(seed + 1);
        var comments = ReadResource("comments.tsv").Select(l => l.Split('\t', 2)).Select(p => (Mean: double.Parse(p[0], CultureInfo.InvariantCulture), Text: p[1])).ToArray();
        var queries = ReadResource("queries.tsv").Select(l => l.Split('\t', 2)).Select(p => (Intent: p[0], Text: p[1])).ToArray();
        var time = services.GetRequiredService<TimeProvider>();
        var insights = services.GetRequiredService<TextInsights>();
        var store = services.GetRequiredService<IngestStore>();
        var end = time.GetUtcNow();
        var start = end.AddDays(-30);

        var agents = Sites.SelectMany(s => s.Teams.SelectMany(t => Enumerable.Range(1, 6).Select(i => (Site: s.Code, Team: t, Agent: $"{t}-{i:00}")))).ToArray();
        var customers = Enumerable.Range(1, contactCount * 6 / 10).Select(i =>
        {
            var first = FirstNames[random.Next(FirstNames.Length)];
            var last = LastNames[random.Next(LastNames.Length)];
            return new CustomerInput($"CUST-{i:000000}", $"{first} {last}", $"{first}.{last}{i}@example.com".ToLowerInvariant(),
                random.Next(3) == 0 ? null : $"+1555{random.Next(1_000_000, 9_999_999)}", random.Next(8) == 0 ? $"@{first.ToLowerInvariant()}{i}" : null);
        }).ToArray();
        // Each customer has a home site, as with a regional contact-center setup; vendors handle a third of the volume.
        var homeAgent = customers.Select(_ => agents[random.Next(agents.Length)]).ToArray();

        var contacts = new List<ContactItem>(contactCount);
        var responses = new List<ResponseItem>();
        var previous = new List<(int Customer, string Reason, DateTimeOffset At)>();
        for (var i = 0; i < contactCount; i++)
        {
            int customer;
            string reason;
            string summary;
            DateTimeOffset at;
            if (previous.Count > 50 && random.NextDouble() < 0.14)
            {
                // A repeat: the same customer about the same thing a few hours or days later.
                var earlier = previous[random.Next(previous.Count)];
                customer = earlier.Customer;
                reason = earlier.Reason;
                at = earlier.At.AddHours(2 + (random.NextDouble() * 24 * 6));
                summary = "Customer called back about the same problem: " + queries[random.Next(queries.Length)].Text;
                if (at > end)
                {
                    at = end.AddMinutes(-random.Next(1, 600));
                }
            }
            else
            {
                customer = random.Next(customers.Length);
                var query = queries[random.Next(queries.Length)];
                reason = query.Intent;
                summary = query.Text;
                at = start.AddSeconds(random.NextDouble() * (end - start).TotalSeconds);
            }
            var (site, team, agent) = random.NextDouble() < 0.8 ? homeAgent[customer] : agents[random.Next(agents.Length)];
            var channel = ChannelMix[random.Next(ChannelMix.Length)];
            var wait = channel is "phone" or "chat" ? (int)Math.Min(3600, -Math.Log(1 - random.NextDouble()) * (site == "acme" ? 240 : 150)) : (int?)null;
            var resolved = random.NextDouble() < (site == "acme" ? 0.78 : 0.86);
            var contact = new ContactInput($"DEMO-C-{i:000000}", customers[customer], channel, at, site, team, agent,
                $"{team.Split('-')[1]}-queue", reason, wait, random.Next(10) < 8 ? 0 : random.Next(1, 4), resolved, summary);
            contacts.Add(new ContactItem(contact, insights.Analyze(summary)));
            previous.Add((customer, reason, at));

            if (random.NextDouble() < 0.35)
            {
                var metric = random.NextDouble() switch { < 0.55 => "csat", < 0.85 => "nps", _ => "ces" };
                var (mean, text) = comments[random.Next(comments.Length)];
                // Unresolved contacts and long waits pull the sentiment down, as they do in real surveys.
                if (!resolved && mean > 0 && random.NextDouble() < 0.6)
                {
                    (mean, text) = comments.Where(c => c.Mean < -0.5).ElementAt(random.Next(200));
                }
                var score = ScoreFor(metric, mean, random);
                var respondedAt = at.AddMinutes(random.Next(5, 600));
                if (respondedAt > end)
                {
                    respondedAt = end;
                }
                var comment = random.NextDouble() < 0.75 ? text : null;
                // A few customers also say how they want to be reached, which the product keeps as a preference note.
                if (comment is not null && voices.NextDouble() < 0.03)
                {
                    comment = $"{comment} {PreferenceSentences[voices.Next(PreferenceSentences.Length)]}";
                }
                var response = new ResponseInput($"DEMO-R-{i:000000}", customers[customer], metric, score, comment,
                    respondedAt, contact.ExternalId, null, null, null, null);
                responses.Add(new ResponseItem(response, insights.AnalyzeComment(response.Comment)));
            }
        }

        var password = await SetUpRecoveryAsync(services, agents.Select(a => (a.Site, a.Team)).Distinct().ToList(), cancellationToken);

        // Contacts in time order, so repeats chain into issues as they would have arrived.
        contacts.Sort((a, b) => a.Input.OccurredAt.CompareTo(b.Input.OccurredAt));
        responses.Sort((a, b) => Nullable.Compare(a.Input.RespondedAt, b.Input.RespondedAt));
        foreach (var chunk in contacts.Cast<IngestItem>().Concat(responses).Chunk(1000))
        {
            await store.WriteAsync([chunk], [WriteScope.Unrestricted], cancellationToken);
        }

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        foreach (var s in Sites)
        {
            await db.Sites.Where(x => x.Code == s.Code)
                .ExecuteUpdateAsync(u => u.SetProperty(x => x.Name, s.Name).SetProperty(x => x.Kind, s.Kind).SetProperty(x => x.TimeZone, s.TimeZone), cancellationToken);
        }
        foreach (var (_, _, agentCode) in agents)
        {
            var n = Math.Abs(agentCode.GetHashCode(StringComparison.Ordinal));
            await db.Agents.Where(a => a.Code == agentCode)
                .ExecuteUpdateAsync(u => u.SetProperty(a => a.Name, $"{FirstNames[n % FirstNames.Length]} {LastNames[(n / 7) % LastNames.Length]}"), cancellationToken);
        }
        output.WriteLine($"Demo data loaded: {contacts.Count} contacts and {responses.Count} responses over 30 days at 3 sites (one outsourced vendor).");
        output.WriteLine($"Demo people (one password for all, shown only now: {password}): admin@demo.closeloop, manager.<site>@demo.closeloop, " +
            "supervisor.<team>@demo.closeloop, recovery1@demo.closeloop and recovery2@demo.closeloop.");
    }

    /// <summary>
    /// Sites, people and the rules a contact center starts with, created before the month is loaded so that the
    /// demo's unhappy customers raise alerts as they would have. The demo password is random and printed once.
    /// </summary>
    private static async Task<string> SetUpRecoveryAsync(IServiceProvider services, List<(string Site, string Team)> teams, CancellationToken ct)
    {
        var password = "demo-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        foreach (var s in Sites)
        {
            db.Sites.Add(new Site { Code = s.Code, Name = s.Name, Kind = s.Kind, TimeZone = s.TimeZone, CreatedAt = now });
        }
        await db.SaveChangesAsync(ct);
        var siteIds = await db.Sites.ToDictionaryAsync(s => s.Code, s => s.Id, ct);
        foreach (var (site, team) in teams)
        {
            db.Teams.Add(new Team { Code = team, Name = team, SiteId = siteIds[site], CreatedAt = now });
        }
        await db.SaveChangesAsync(ct);
        async Task<long> Person(string email, string role, string? site, string? team = null)
        {
            var (user, errors) = await People.UserAccounts.CreateAsync(db, new People.UserInput(email, email.Split('@')[0], password, role, site, team, null), now, ct);
            return user?.Id ?? throw new InvalidOperationException(string.Join("; ", errors.SelectMany(e => e.Value)));
        }
        await Person("admin@demo.closeloop", Roles.Admin, null);
        foreach (var s in Sites)
        {
            var manager = await Person($"manager.{s.Code}@demo.closeloop", Roles.SiteManager, s.Code);
            await db.Sites.Where(x => x.Code == s.Code).ExecuteUpdateAsync(u => u.SetProperty(x => x.ManagerUserId, manager), ct);
        }
        foreach (var (site, team) in teams)
        {
            var supervisor = await Person($"supervisor.{team}@demo.closeloop", Roles.Supervisor, site, team);
            await db.Teams.Where(t => t.Code == team).ExecuteUpdateAsync(u => u.SetProperty(t => t.SupervisorUserId, supervisor), ct);
        }
        foreach (var email in new[] { "recovery1@demo.closeloop", "recovery2@demo.closeloop" })
        {
            db.PoolMembers.Add(new People.PoolMember { Pool = "recovery", UserId = await Person(email, Roles.Recovery, null) });
        }
        string[] rules =
        [
            """{"name":"Very unhappy customer","enabled":true,"when":{"all":[{"field":"metric","op":"eq","value":"csat"},{"field":"score","op":"lte","value":2}]},"owner":{"kind":"teamSupervisor"},"deadline":"PT4H","clock":"business","escalation":[{"after":"PT2H","to":{"kind":"siteManager"}},{"after":"PT4H","to":{"kind":"headOfService"}}]}""",
            """{"name":"NPS detractor with a comment","enabled":true,"when":{"all":[{"field":"npsCategory","op":"eq","value":"detractor"},{"field":"score","op":"lte","value":3},{"field":"sentiment","op":"lt","value":-0.3}]},"owner":{"kind":"pool","name":"recovery"},"deadline":"P1D","clock":"business"}""",
            """{"name":"Threat to leave or to complain to a regulator","enabled":true,"when":{"any":[{"field":"signal","op":"in","value":["churn_threat","legal_threat"]}]},"owner":{"kind":"pool","name":"recovery"},"deadline":"PT2H","clock":"24x7","escalation":[{"after":"PT1H","to":{"kind":"siteManager"}}]}""",
        ];
        foreach (var json in rules)
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            var definition = Alerts.AlertRuleDefinition.Parse(document.RootElement, []) ?? throw new InvalidOperationException("A demo rule is invalid.");
            db.AlertRules.Add(new Alerts.AlertRule { Name = definition.Name, Enabled = true, Definition = json, CreatedAt = now, UpdatedAt = now });
        }
        await db.SaveChangesAsync(ct);
        services.GetRequiredService<Alerts.AlertRuleCache>().Invalidate();
        return password;
    }

    private static int ScoreFor(string metric, double mean, Random random)
    {
        // mean is the human sentiment of the comment, from -4 to +4; map it to the scale with some noise.
        var position = Math.Clamp(((mean + 4) / 8) + ((random.NextDouble() - 0.5) * 0.25), 0, 1);
        var (min, max) = MetricScales.Scale(metric);
        return (int)Math.Round(min + (position * (max - min)));
    }

    private static IEnumerable<string> ReadResource(string name)
    {
        using var stream = typeof(DemoData).Assembly.GetManifestResourceStream($"Closeloop.Demo.Resources.{name}")
            ?? throw new InvalidOperationException($"Demo resource {name} is missing.");
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }
        return lines;
    }
}
