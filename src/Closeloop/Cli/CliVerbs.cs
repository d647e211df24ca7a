using Closeloop.Data;
using Closeloop.Demo;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Cli;

/// <summary>The CLI verbs. Each builds the same core services as the server, on the database the configuration names.</summary>
public static class CliVerbs
{
    public const string Usage = """
        Usage: closeloop [verb] [options]
          serve [--urls URL] [--demo]      run the web app and API (the default verb)
          migrate                          apply pending database migrations
          import contacts|responses FILE   import a CSV file (bad rows are reported with their line numbers)
          demo                             load a realistic month of demo data into an empty database
          rules list | add FILE.json | enable ID | disable ID | delete ID
                                           manage alert rules (the JSON of POST /api/v1/alert-rules)
          insights train FILE.csv          teach the root-cause classifier from labelled examples (text, cause)
          apikey create --name N --role R [--site S]
                                           create an API key and print it (shown once); a site_manager, supervisor, qa or agent key needs --site
          user create --email E --password P --role R [--site S] [--team T] [--name N] [--department D]
                                           create a person who signs in to the web console (the first admin, say);
                                           a site_manager, supervisor, qa or agent needs --site (or --team)
          export responses|contacts [FILE.csv] [--from D] [--to D] [--site S]
                                           CSV in the columns import reads, with each record's analysis (stdout without FILE)
          export customer ID [FILE.json]   everything kept about one customer: profile, preferences, notes, timeline, alerts, invitations, messages
        Configuration: appsettings.json, environment variables, or --Database:Provider=postgres --ConnectionStrings:Closeloop="..."
        Exit codes: 0 done; 1 something was refused or failed (bad rows, a rule, the database); 2 the command line is wrong
        (an unknown option, an option without its value, a missing file or a missing or bad argument) and nothing was written;
        130 an import stopped by Ctrl-C (the rows up to the line it names were imported; run it again for the rest).
        """;

    /// <summary>
    /// The command line each verb takes: its words, the options it knows and those it needs. An option it does not know
    /// is refused rather than ignored, so a misspelt --form never exports everything.
    /// </summary>
    private sealed record VerbShape(string Usage, string Takes, Func<List<string>, bool> Words, string[] Options, string[] Required);

    private static readonly Dictionary<string, VerbShape> Verbs = new(StringComparer.Ordinal)
    {
        ["migrate"] = new("closeloop migrate", "no arguments", w => w.Count == 0, [], []),
        ["import"] = new("closeloop import contacts|responses FILE.csv", "what to import (contacts or responses) and the CSV file",
            w => w is ["contacts" or "responses", _], [], []),
        ["demo"] = new("closeloop demo", "no arguments", w => w.Count == 0, [], []),
        ["rules"] = new("closeloop rules list | add FILE.json | enable ID | disable ID | delete ID", "list, add FILE.json, or enable, disable or delete with a rule's ID",
            w => w is ["list"] or ["add", _] or ["enable" or "disable" or "delete", _], [], []),
        ["insights"] = new("closeloop insights train FILE.csv", "train and the CSV file of labelled examples", w => w is ["train", _], [], []),
        ["apikey"] = new("closeloop apikey create --name N --role R [--site S]", "create and its options", w => w is ["create"], ["name", "role", "site"], ["name", "role"]),
        ["user"] = new("closeloop user create --email E --password P --role R [--site S] [--team T] [--name N] [--department D]", "create and its options",
            w => w is ["create"], ["email", "password", "role", "site", "team", "name", "department"], ["email", "password", "role"]),
        ["export"] = new("closeloop export responses|contacts [FILE.csv] [--from D] [--to D] [--site S] | export customer ID [FILE.json]",
            "responses or contacts and an optional file, or customer with the customer's external id and an optional file",
            w => w is ["responses" or "contacts"] or ["responses" or "contacts", _] or ["customer", _] or ["customer", _, _], ["from", "to", "site", "out"], []),
    };

    public static async Task<int> RunAsync(string[] args)
    {
        var verb = args[0].ToLowerInvariant();
        if (verb is "help" or "--help" or "-h")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        // Only the verb is repeated back: the rest of the line may hold a connection string and its password.
        if (!Verbs.TryGetValue(verb, out var shape))
        {
            Console.Error.WriteLine($"Unknown command '{verb}'.");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            Console.WriteLine($"Usage: {shape.Usage}");
            return 0;
        }
        var (options, configuration, problem) = SplitOptions(args.Skip(1).ToArray(), shape.Options);
        problem ??= !shape.Words(options.Positional) ? $"{verb} takes {shape.Takes}."
            : shape.Required.FirstOrDefault(r => !options.Named.ContainsKey(r)) is { } missing ? $"--{missing} is required."
            : null;
        if (problem is not null)
        {
            // Refused before the configuration is read, so a wrong command line never creates or migrates a database.
            Console.Error.WriteLine($"{problem} Usage: {shape.Usage}");
            return 2;
        }
        try
        {
            var builder = Host.CreateApplicationBuilder(configuration.ToArray());
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            // Log lines (a migration applied on the way, say) go to stderr: stdout is the verb's output, such as the
            // CSV that `export` writes when no file is named.
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Services.AddCloseloopCore();
            builder.Services.AddSingleton<CsvImport>();
            using var host = builder.Build();
            var services = host.Services;
            switch (verb)
            {
                case "migrate":
                    var applied = await services.GetRequiredService<Migrator>().MigrateAsync();
                    Console.WriteLine(applied.Count == 0 ? "The database is up to date." : $"Applied {string.Join(", ", applied)}.");
                    return 0;
                case "import":
                    return await ImportAsync(services, options.Positional[0], options.Positional[1]);
                case "demo":
                    await EnsureMigratedAsync(services);
                    return await DemoData.LoadIfEmptyAsync(services, Console.Out, CancellationToken.None) ? 0 : 1;
                case "insights":
                    return await TrainAsync(services, options.Positional[1]);
                case "rules":
                    return await RulesAsync(services, options.Positional);
                case "user":
                    await EnsureMigratedAsync(services);
                    return await CreateUserAsync(services, options);
                case "export":
                    await EnsureMigratedAsync(services);
                    return await CliExport.RunAsync(services, options, Console.Out, Console.Error);
                case "apikey":
                    await EnsureMigratedAsync(services);
                    return await CreateApiKeyAsync(services, options);
                default:
                    return 2;
            }
        }
        catch (InvalidOperationException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        // A file that cannot be read or written, or a database that cannot be reached, is one line, not a stack trace.
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }
        catch (System.Data.Common.DbException ex)
        {
            Console.Error.WriteLine($"The database failed: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> ImportAsync(IServiceProvider services, string kind, string path)
    {
        // Checked before migrating, so a mistyped path leaves an embedded database as it was.
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"No such file: {path}");
            return 2;
        }
        if (CsvImport.FileRefusal(path) is { } refusal)
        {
            Console.Error.WriteLine(refusal);
            Console.Error.WriteLine("The file was refused: nothing was imported.");
            return 2;
        }
        await EnsureMigratedAsync(services);
        // Ctrl-C (or SIGTERM) stops reading; the rows read so far are still written and the report says where to
        // resume. A second one ends the process at once: every chunk is one transaction, so that loses nothing
        // either, only the report.
        using var stop = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => e.Cancel = !stop.IsCancellationRequested && Stop(stop);
        Console.CancelKeyPress += onCancel;
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context => context.Cancel = !stop.IsCancellationRequested && Stop(stop));
        CsvImportReport report;
        try
        {
            report = await services.GetRequiredService<CsvImport>().RunAsync(kind, path, !Console.IsOutputRedirected, stop.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        foreach (var problem in report.Problems)
        {
            Console.Error.WriteLine(problem);
        }
        if (report.FileRefused)
        {
            Console.Error.WriteLine("The file was refused: nothing was imported.");
            return 2;
        }
        Console.WriteLine($"{report.Rows} rows: {report.Created} created, {report.Existing} already present, {report.Failed} refused.");
        if (report.InterruptedAfterLine is { } line)
        {
            Console.Error.WriteLine($"Interrupted: the rows up to line {line} were imported, none after it. Run the same command again to import the rest; the rows already stored are skipped as already present.");
            return 130;
        }
        return report.Failed > 0 ? 1 : 0;
    }

    private static bool Stop(CancellationTokenSource stop)
    {
        stop.Cancel();
        return true;
    }

    /// <summary>
    /// Checked by the same code as POST /api/v1/users. A refusal exits with 2, as any other wrong command line does:
    /// nothing was written.
    /// </summary>
    private static async Task<int> CreateUserAsync(IServiceProvider services, CliOptions options)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var input = new People.UserInput(options.Named["email"], options.Named.GetValueOrDefault("name"), options.Named["password"],
            options.Named["role"], options.Named.GetValueOrDefault("site"), options.Named.GetValueOrDefault("team"), options.Named.GetValueOrDefault("department"));
        var (user, errors) = await People.UserAccounts.CreateAsync(db, input, TimeProvider.System.GetUtcNow(), CancellationToken.None);
        if (user is null)
        {
            WriteErrors(errors);
            return 2;
        }
        Console.WriteLine($"{user.Id}\t{user.Email}\t{user.Role}");
        return 0;
    }

    /// <summary>Checked by the same code as POST /api/v1/api-keys, so a key made here is one the API would have made.</summary>
    private static async Task<int> CreateApiKeyAsync(IServiceProvider services, CliOptions options)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var request = new ApiKeyRequest(options.Named["name"], options.Named["role"], options.Named.GetValueOrDefault("site"));
        var (created, errors) = await ApiKeyIssuer.CreateAsync(db, request, TimeProvider.System.GetUtcNow(), CancellationToken.None);
        if (created is null)
        {
            WriteErrors(errors);
            return 2;
        }
        Console.WriteLine(created.Key);
        return 0;
    }

    private static void WriteErrors(Dictionary<string, string[]> errors)
    {
        foreach (var (field, messages) in errors)
        {
            Console.Error.WriteLine($"--{field}: {string.Join("; ", messages)}");
        }
    }

    /// <summary>
    /// `rules list`, `rules add FILE.json` (the same JSON as POST /api/v1/alert-rules), `rules enable|disable|delete ID`.
    /// A running server picks the change up within seconds.
    /// </summary>
    private static async Task<int> RulesAsync(IServiceProvider services, List<string> args)
    {
        if (args[0] == "add" && !File.Exists(args[1]))
        {
            Console.Error.WriteLine($"No such file: {args[1]}");
            return 2;
        }
        await EnsureMigratedAsync(services);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var cache = scope.ServiceProvider.GetRequiredService<Alerts.AlertRuleCache>();
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
                System.Text.Json.JsonDocument document;
                try
                {
                    document = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(args[1]));
                }
                catch (System.Text.Json.JsonException ex)
                {
                    // Refused like a rule with a bad field: the file was read, its content is wrong.
                    Console.Error.WriteLine($"{args[1]}: not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})");
                    return 1;
                }
                using (document)
                {
                    // The same validation as POST /api/v1/alert-rules, owners included: a rule whose owner is nobody raises alerts nobody gets.
                    var saved = await Alerts.AlertRuleStore.SaveAsync(db, document.RootElement, null, now, cache, default);
                    if (saved.Rule is null)
                    {
                        PrintRuleErrors(saved.Errors);
                        return 1;
                    }
                    Console.WriteLine($"{saved.Rule.Id}	{saved.Rule.Name}");
                    return 0;
                }
            case "enable" when args.Count == 2 && long.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out var enableId):
                // Switching a rule on checks its owners again, as PUT does: its pool may have emptied while it was off.
                var stored = await db.AlertRules.AsNoTracking().FirstOrDefaultAsync(r => r.Id == enableId && r.DeletedAt == null);
                if (stored is null)
                {
                    Console.Error.WriteLine($"No rule {enableId}.");
                    return 1;
                }
                var enabled = System.Text.Json.Nodes.JsonNode.Parse(stored.Definition)!.AsObject();
                enabled["enabled"] = true;
                var saveEnabled = await Alerts.AlertRuleStore.SaveAsync(db, System.Text.Json.JsonSerializer.SerializeToElement(enabled), enableId, now, cache, default);
                if (saveEnabled.Rule is null)
                {
                    PrintRuleErrors(saveEnabled.Errors);
                    return 1;
                }
                Console.WriteLine($"{enableId}	enabled");
                return 0;
            case "disable" or "delete" when args.Count == 2 && long.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out var id):
                var found = await db.AlertRules.FirstOrDefaultAsync(r => r.Id == id && r.DeletedAt == null);
                if (found is null)
                {
                    Console.Error.WriteLine($"No rule {id}.");
                    return 1;
                }
                found.Enabled = false;
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

    private static void PrintRuleErrors(Dictionary<string, string[]>? errors)
    {
        foreach (var (field, messages) in errors ?? [])
        {
            Console.Error.WriteLine($"{field}: {string.Join("; ", messages)}");
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
        await EnsureMigratedAsync(services);
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var known = (await db.RootCauses.AsNoTracking().Select(r => r.Code).ToListAsync()).ToHashSet(StringComparer.Ordinal);
        using var reader = CsvReader.OpenText(File.OpenRead(path));
        var csv = new CsvReader(reader);
        var header = csv.Read()?.Select(h => h.Trim().ToLowerInvariant()).ToList() ?? [];
        if (csv.Problem is not null)
        {
            Console.Error.WriteLine($"line 1: {csv.Problem}");
            return 2;
        }
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
            if (csv.Problem is null && string.IsNullOrEmpty(text) && string.IsNullOrEmpty(cause))
            {
                continue;
            }
            if (csv.Problem is not null)
            {
                refused++;
                Console.Error.WriteLine($"line {csv.RecordLine}: {csv.Problem}");
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
        var learned = examples.Count > 0 ? await insights.LearnAsync(db, examples, "import", TimeProvider.System.GetUtcNow(), CancellationToken.None) : 0;
        Console.WriteLine($"{learned} examples learned, {examples.Count - learned} already known, {refused} refused.");
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

    /// <summary>
    /// Splits a verb's options ("--name value" or "--name=value") from its words; any other "--Key=value" goes to the
    /// configuration. An option without a value is refused: taking the next word instead once took a
    /// "--ConnectionStrings:…=…" as a password and ran the command on the default database.
    /// </summary>
    internal static (CliOptions Options, List<string> Configuration, string? Problem) SplitOptions(string[] args, IReadOnlyCollection<string> known)
    {
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var configuration = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(a);
                continue;
            }
            var equals = a.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? a[2..] : a[2..equals];
            var option = known.FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (option is null && equals > 2)
            {
                configuration.Add(a);
                continue;
            }
            // Only the option's name is repeated back, never a value: a value may be a password or a connection string.
            if (option is null)
            {
                return (new CliOptions(positional, named), configuration,
                    $"Unknown option --{name} (configuration is given as --Key=value).");
            }
            var value = equals >= 0 ? a[(equals + 1)..] : i + 1 < args.Length ? args[++i] : null;
            if (string.IsNullOrEmpty(value) || value.StartsWith("--", StringComparison.Ordinal))
            {
                return (new CliOptions(positional, named), configuration, $"--{option} needs a value (a value may not start with --).");
            }
            if (!named.TryAdd(option, value))
            {
                return (new CliOptions(positional, named), configuration, $"--{option} is given twice.");
            }
        }
        return (new CliOptions(positional, named), configuration, null);
    }
}
