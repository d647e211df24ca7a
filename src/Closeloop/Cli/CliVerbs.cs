using Closeloop.Data;
using Closeloop.Demo;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Cli;

/// <summary>The CLI verbs. Each builds the same core services as the server, on the database the configuration names.</summary>
public static class CliVerbs
{
    private const string Usage = """
        Usage: closeloop [verb] [options]
          serve [--urls URL] [--demo]      run the web app and API (the default verb)
          migrate                          apply pending database migrations
          import contacts|responses FILE   import a CSV file (bad rows are reported with their line numbers)
          demo                             load a realistic month of demo data into an empty database
          rules list | add FILE.json | enable ID | disable ID | delete ID
                                           manage alert rules (the JSON of POST /api/v1/alert-rules)
          insights train FILE.csv          teach the root-cause classifier from labelled examples (text, cause)
          apikey create --name N --role R [--site S]
                                           create an API key and print it (shown once)
          user create --email E --password P --role R [--site S] [--team T] [--name N]
                                           create a person who signs in to the web console (the first admin, say)
          export responses|contacts [FILE.csv] [--from D] [--to D] [--site S]
                                           CSV in the columns import reads, with each record's analysis (stdout without FILE)
          export customer ID [FILE.json]   everything kept about one customer: profile, preferences, notes, timeline, alerts
        Configuration: appsettings.json, environment variables, or --Database:Provider=postgres --ConnectionStrings:Closeloop="..."
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var verb = args[0].ToLowerInvariant();
        var (options, rest) = SplitOptions(args.Skip(1).ToArray());
        if (verb is "help" or "--help" or "-h")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        var builder = Host.CreateApplicationBuilder(rest.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)).ToArray());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddCloseloopCore();
        builder.Services.AddSingleton<CsvImport>();
        using var host = builder.Build();
        var services = host.Services;
        var migrator = services.GetRequiredService<Migrator>();
        try
        {
            switch (verb)
            {
                case "migrate":
                    var applied = await migrator.MigrateAsync();
                    Console.WriteLine(applied.Count == 0 ? "The database is up to date." : $"Applied {string.Join(", ", applied)}.");
                    return 0;
                case "import" when options.Positional.Count == 2 && options.Positional[0] is "contacts" or "responses":
                    await EnsureMigratedAsync(services);
                    var path = options.Positional[1];
                    if (!File.Exists(path))
                    {
                        Console.Error.WriteLine($"No such file: {path}");
                        return 2;
                    }
                    var report = await services.GetRequiredService<CsvImport>().RunAsync(options.Positional[0], path, !Console.IsOutputRedirected, CancellationToken.None);
                    foreach (var problem in report.Problems)
                    {
                        Console.Error.WriteLine(problem);
                    }
                    Console.WriteLine($"{report.Rows} rows: {report.Created} created, {report.Existing} already present, {report.Failed} refused.");
                    return report.Failed > 0 ? 1 : 0;
                case "demo":
                    await EnsureMigratedAsync(services);
                    return await DemoData.LoadIfEmptyAsync(services, Console.Out, CancellationToken.None) ? 0 : 1;
                case "insights" when options.Positional.Count == 2 && options.Positional[0] == "train":
                    await EnsureMigratedAsync(services);
                    return await TrainAsync(services, options.Positional[1]);
                case "rules" when options.Positional.Count >= 1:
                    await EnsureMigratedAsync(services);
                    return await RulesAsync(services, options.Positional);
                case "user" when options.Positional.FirstOrDefault() == "create":
                    await EnsureMigratedAsync(services);
                    return await CreateUserAsync(services, options);
                case "export":
                    await EnsureMigratedAsync(services);
                    return await CliExport.RunAsync(services, options, Console.Out, Console.Error);
                case "apikey" when options.Positional.FirstOrDefault() == "create":
                    await EnsureMigratedAsync(services);
                    return await CreateApiKeyAsync(services, options);
                default:
                    Console.Error.WriteLine($"Unknown command: {string.Join(' ', args)}");
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
    }

    private static async Task<int> CreateUserAsync(IServiceProvider services, CliOptions options)
    {
        if (options.Named.GetValueOrDefault("password") is not { } password)
        {
            Console.Error.WriteLine("--password is required: a person signs in with it.");
            return 2;
        }
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var input = new People.UserInput(options.Named.GetValueOrDefault("email"), options.Named.GetValueOrDefault("name"), password,
            options.Named.GetValueOrDefault("role"), options.Named.GetValueOrDefault("site"), options.Named.GetValueOrDefault("team"), options.Named.GetValueOrDefault("department"));
        var (user, errors) = await People.UserAccounts.CreateAsync(db, input, TimeProvider.System.GetUtcNow(), CancellationToken.None);
        if (user is null)
        {
            foreach (var (field, messages) in errors)
            {
                Console.Error.WriteLine($"--{field}: {string.Join("; ", messages)}");
            }
            return 1;
        }
        Console.WriteLine($"{user.Id}	{user.Email}	{user.Role}");
        return 0;
    }

    private static async Task<int> CreateApiKeyAsync(IServiceProvider services, CliOptions options)
    {
        var role = Roles.Normalize(options.Named.GetValueOrDefault("role") ?? Roles.Integration);
        if (role is null)
        {
            Console.Error.WriteLine($"--role must be one of {string.Join(", ", Roles.All)}");
            return 2;
        }
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        long? siteId = null;
        if (options.Named.GetValueOrDefault("site") is { } siteCode)
        {
            siteId = await db.Sites.Where(s => s.Code == siteCode.ToLowerInvariant()).Select(s => (long?)s.Id).FirstOrDefaultAsync();
            if (siteId is null)
            {
                Console.Error.WriteLine($"No site with code '{siteCode}'.");
                return 2;
            }
        }
        var name = options.Named.GetValueOrDefault("name") ?? $"{role} key";
        var (_, key) = await ApiKeyIssuer.CreateAsync(db, name, role, siteId, TimeProvider.System.GetUtcNow(), CancellationToken.None);
        Console.WriteLine(key);
        return 0;
    }

    /// <summary>
    /// `rules list`, `rules add FILE.json` (the same JSON as POST /api/v1/alert-rules), `rules enable|disable|delete ID`.
    /// A running server picks the change up within seconds.
    /// </summary>
    private static async Task<int> RulesAsync(IServiceProvider services, List<string> args)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var now = TimeProvider.System.GetUtcNow();
        switch (args[0])
        {
            case "list":
                foreach (var rule in await db.AlertRules.AsNoTracking().Where(r => r.DeletedAt == null).OrderBy(r => r.Id).ToListAsync())
                {
                    Console.WriteLine($"{rule.Id}	{(rule.Enabled ? "enabled " : "disabled")}	{rule.Name}");
                }
                return 0;
            case "add" when args.Count == 2:
                using (var document = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(args[1])))
                {
                    var errors = new Dictionary<string, string[]>();
                    var definition = Alerts.AlertRuleDefinition.Parse(document.RootElement, errors);
                    if (definition is null)
                    {
                        foreach (var (field, messages) in errors)
                        {
                            Console.Error.WriteLine($"{field}: {string.Join("; ", messages)}");
                        }
                        return 1;
                    }
                    definition.Json["enabled"] = definition.Enabled;
                    var rule = new Alerts.AlertRule { Name = definition.Name, Enabled = definition.Enabled, Definition = definition.Json.ToJsonString(), CreatedAt = now, UpdatedAt = now };
                    db.AlertRules.Add(rule);
                    await db.SaveChangesAsync();
                    Console.WriteLine($"{rule.Id}	{rule.Name}");
                    return 0;
                }
            case "enable" or "disable" or "delete" when args.Count == 2 && long.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out var id):
                var found = await db.AlertRules.FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null);
                if (found is null)
                {
                    Console.Error.WriteLine($"No rule {id}.");
                    return 1;
                }
                found.Enabled = args[0] == "enable";
                var json = System.Text.Json.Nodes.JsonNode.Parse(found.Definition)!.AsObject();
                json["enabled"] = found.Enabled;
                found.Definition = json.ToJsonString();
                found.DeletedAt = args[0] == "delete" ? now : null;
                found.UpdatedAt = now;
                await db.SaveChangesAsync();
                Console.WriteLine($"{id}	{args[0]}d");
                return 0;
            default:
                Console.Error.WriteLine("Usage: closeloop rules list | add FILE.json | enable ID | disable ID | delete ID");
                return 2;
        }
    }

    /// <summary>
    /// Reads labelled examples from a CSV with a text column (text, comment, summary or query) and a cause column
    /// (cause, label or category), stores them, and teaches the classifier; a running server learns them within seconds.
    /// </summary>
    private static async Task<int> TrainAsync(IServiceProvider services, string path)
    {
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"No such file: {path}");
            return 2;
        }
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var known = (await db.RootCauses.AsNoTracking().Select(r => r.Code).ToListAsync()).ToHashSet(StringComparer.Ordinal);
        using var reader = new StreamReader(path);
        var csv = new CsvReader(reader);
        var header = csv.Read()?.Select(h => h.Trim().ToLowerInvariant()).ToList() ?? [];
        var textColumn = header.FindIndex(h => h is "text" or "comment" or "summary" or "query");
        var causeColumn = header.FindIndex(h => h is "cause" or "label" or "category" or "rootcause" or "root_cause");
        if (textColumn < 0 || causeColumn < 0)
        {
            Console.Error.WriteLine("line 1: the file needs a text column (text, comment, summary or query) and a cause column (cause, label or category).");
            return 2;
        }
        var examples = new List<(string, string)>();
        var refused = 0;
        while (csv.Read() is { } row)
        {
            var text = row.ElementAtOrDefault(textColumn)?.Trim();
            var cause = row.ElementAtOrDefault(causeColumn)?.Trim().ToLowerInvariant();
            if (string.IsNullOrEmpty(text) && string.IsNullOrEmpty(cause))
            {
                continue;
            }
            if (string.IsNullOrEmpty(text) || cause is null || !known.Contains(cause))
            {
                refused++;
                Console.Error.WriteLine($"line {csv.RecordLine}: " + (string.IsNullOrEmpty(text) ? "empty text" : $"'{cause}' is not a cause of the taxonomy (GET /api/v1/root-causes)"));
                continue;
            }
            examples.Add((text, cause));
        }
        var insights = services.GetRequiredService<Insights.TextInsights>();
        await insights.LoadAsync(db, CancellationToken.None);
        if (examples.Count > 0)
        {
            await insights.LearnAsync(db, examples, "import", TimeProvider.System.GetUtcNow(), CancellationToken.None);
        }
        Console.WriteLine($"{examples.Count} examples learned, {refused} refused.");
        return refused > 0 ? 1 : 0;
    }

    /// <summary>The embedded database is migrated by any command; PostgreSQL only by `migrate`.</summary>
    private static async Task EnsureMigratedAsync(IServiceProvider services)
    {
        var db = services.GetRequiredService<Db>();
        var migrator = services.GetRequiredService<Migrator>();
        if (db.IsSqlite)
        {
            await migrator.MigrateAsync();
        }
        else if ((await migrator.PendingAsync()).Count > 0)
        {
            throw new InvalidOperationException("The PostgreSQL schema is behind: run `closeloop migrate` first.");
        }
    }

    internal sealed record CliOptions(List<string> Positional, Dictionary<string, string> Named);

    /// <summary>Splits "--name value" pairs from positional words; "--Key=value" pairs go to the configuration.</summary>
    internal static (CliOptions Options, List<string> Configuration) SplitOptions(string[] args)
    {
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var configuration = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal))
            {
                configuration.Add(a);
            }
            else if (a.StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                named[a[2..]] = args[++i];
            }
            else
            {
                positional.Add(a);
            }
        }
        return (new CliOptions(positional, named), configuration);
    }
}
