using System.Text;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>
/// The CLI's command line and its CSV import, run as the real executable. Each run gets the test database's
/// configuration appended as "--Key=value" words, as a person's shell line would carry it.
/// </summary>
public sealed class CliTests
{
    private static async Task<(int ExitCode, string Output)> RunAsync(string connection, params string[] args) =>
        await AppProcess.RunAsync(TestDatabases.Sqlite, connection, args);

    public static TheoryData<string, string[]> OptionsWithoutTheirValue => new()
    {
        // The value is missing and the next word, a configuration override, was once taken for it: the user landed in
        // another database than the one configured, and the command said it had succeeded.
        { "--password", ["user", "create", "--email", "lost@example.com", "--role", "admin", "--password", "--ConnectionStrings:Closeloop=Data Source={decoy}"] },
        { "--site", ["apikey", "create", "--name", "k", "--role", "admin", "--site", "--ConnectionStrings:Closeloop=Data Source={decoy}"] },
        { "--email", ["user", "create", "--role", "admin", "--password", "long enough password", "--email"] },
        { "--from", ["export", "responses", "--from", "--to", "2026-11-01"] },
        { "--name", ["apikey", "create", "--role", "admin", "--name="] },
    };

    [Theory, MemberData(nameof(OptionsWithoutTheirValue))]
    public async Task AnOptionWithoutItsValueIsRefusedAndNothingIsWritten(string option, string[] args)
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var decoy = new TempFile("decoy", ".db");

        var (exit, output) = await RunAsync(connection, args.Select(a => a.Replace("{decoy}", decoy.Path, StringComparison.Ordinal)).ToArray());

        Assert.Equal(2, exit);
        Assert.Contains($"{option} needs a value", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Data Source", output, StringComparison.Ordinal);
        Assert.False(File.Exists(decoy.Path));
        // The configured database was not touched either: the e-mail is still free there.
        (exit, output) = await RunAsync(connection, "user", "create", "--email", "lost@example.com", "--role", "admin", "--password", "long enough password");
        Assert.True(exit == 0, output);
    }

    public static TheoryData<string[], string> IncompleteCommands => new()
    {
        { ["import"], "import takes what to import (contacts or responses) and the CSV file. Usage: closeloop import contacts|responses FILE.csv" },
        { ["import", "contacts"], "import takes what to import (contacts or responses) and the CSV file." },
        { ["insights", "train"], "insights takes train and the CSV file of labelled examples. Usage: closeloop insights train FILE.csv" },
        { ["apikey", "create"], "--name is required. Usage: closeloop apikey create --name N --role R [--site S]" },
        { ["apikey", "create", "--name", "k"], "--role is required." },
        { ["user", "create", "--email", "a@example.com", "--role", "admin"], "--password is required." },
        { ["export", "responses", "--form", "2026-11-01"], "Unknown option --form" },
        { ["rules", "enable"], "Usage: closeloop rules list | add FILE.json" },
        { ["frobnicate"], "Unknown command 'frobnicate'." },
    };

    [Theory, MemberData(nameof(IncompleteCommands))]
    public async Task AnIncompleteCommandSaysWhatIsMissingAndNeverEchoesTheConfiguration(string[] args, string message)
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);

        var (exit, output) = await RunAsync(connection, args);

        Assert.Equal(2, exit);
        Assert.Contains(message, output, StringComparison.Ordinal);
        // The connection string may hold a password.
        Assert.DoesNotContain(connection, output, StringComparison.Ordinal);
        Assert.DoesNotContain("--Database:Provider=sqlite", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unknown command: ", output, StringComparison.Ordinal);
        // Refused before the configuration is read: the database was not even created.
        Assert.False(File.Exists(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connection).DataSource));
    }

    [Fact]
    public async Task AMissingOrBrokenFileIsOneLineAndAnExitCodeNotAStackTrace()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var broken = new TempFile("rule", ".json");
        await File.WriteAllTextAsync(broken, """{"name": "Detractor", "when": """);
        var missing = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.json");
        var nowhere = Path.Combine(Path.GetTempPath(), $"no-dir-{Guid.NewGuid():N}", "x.csv");

        var (exit, output) = await RunAsync(connection, "rules", "add", broken);
        Assert.Equal(1, exit);
        Assert.Contains($"{broken.Path}: not valid JSON (line 1,", output, StringComparison.Ordinal);
        AppProcess.AssertNoCrash(output);

        (exit, output) = await RunAsync(connection, "rules", "add", missing);
        Assert.Equal(2, exit);
        Assert.Contains($"No such file: {missing}", output, StringComparison.Ordinal);
        AppProcess.AssertNoCrash(output);

        (exit, output) = await RunAsync(connection, "export", "responses", nowhere);
        Assert.Equal(2, exit);
        Assert.Contains($"No such directory: {Path.GetDirectoryName(nowhere)}", output, StringComparison.Ordinal);
        AppProcess.AssertNoCrash(output);

        (exit, output) = await RunAsync(connection, "insights", "train", missing);
        Assert.Equal(2, exit);
        Assert.Contains($"No such file: {missing}", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync(connection, "rules", "list");
        Assert.True(exit == 0, output);
        Assert.Equal(string.Empty, output.Trim());
    }

    [Fact]
    public async Task RulesAddAndEnableCheckTheOwnersAsTheApiDoes()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var rule = new TempFile("rule", ".json");
        await File.WriteAllTextAsync(rule, """
            {"name":"Detractor","when":{"field":"score","op":"lte","value":6},"owner":"nobody@example.com","deadline":"PT2H",
             "escalation":[{"after":"PT1H","to":"pool:ghosts"}]}
            """);
        var (exit, output) = await RunAsync(connection, "rules", "add", rule);
        Assert.Equal(1, exit);
        Assert.Contains("owner: there is no user nobody@example.com", output, StringComparison.Ordinal);
        Assert.Contains("escalation[0].to: ", output, StringComparison.Ordinal);
        AppProcess.AssertNoCrash(output);
        (_, output) = await RunAsync(connection, "rules", "list");
        Assert.Equal(string.Empty, output.Trim());

        // Off, it may be stored; switched on, it is checked again.
        await File.WriteAllTextAsync(rule, """
            {"name":"Detractor","enabled":false,"when":{"field":"score","op":"lte","value":6},"owner":"nobody@example.com","deadline":"PT2H"}
            """);
        (exit, output) = await RunAsync(connection, "rules", "add", rule);
        Assert.True(exit == 0, output);
        var id = output.Trim().Split('\t')[0];
        (exit, output) = await RunAsync(connection, "rules", "enable", id);
        Assert.Equal(1, exit);
        Assert.Contains("owner: there is no user nobody@example.com", output, StringComparison.Ordinal);
        (exit, output) = await RunAsync(connection, "user", "create", "--email", "nobody@example.com", "--password", "a-long-password-1", "--role", "recovery");
        Assert.True(exit == 0, output);
        (exit, output) = await RunAsync(connection, "rules", "enable", id);
        Assert.True(exit == 0, output);
        (_, output) = await RunAsync(connection, "rules", "list");
        Assert.Contains($"{id}\tenabled \tDetractor", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASiteManagerUserOrKeyWithoutASiteIsRefused()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);

        var (exit, output) = await RunAsync(connection, "user", "create", "--email", "mia@example.com", "--role", "site_manager", "--password", "long enough password");
        Assert.Equal(2, exit);
        Assert.Contains("--site: is required for a site manager, who sees only their site", output, StringComparison.Ordinal);

        (exit, output) = await RunAsync(connection, "apikey", "create", "--name", "vendor", "--role", "site_manager");
        Assert.Equal(2, exit);
        Assert.Contains("--site: is required for a site_manager key", output, StringComparison.Ordinal);
        Assert.DoesNotContain("cl_", output, StringComparison.Ordinal);

        // Neither was written: the e-mail is still free.
        (exit, output) = await RunAsync(connection, "user", "create", "--email", "mia@example.com", "--role", "admin", "--password", "long enough password");
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task AnUnterminatedQuoteIsReportedOnItsLineAndTheLinesAfterItAreStillImported()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("responses", ".csv");
        await File.WriteAllTextAsync(file, """
            externalId,customerExternalId,metric,score,comment,channel,site
            imp-u-0,IMP-1,csat,4,"A quoted comment
            over two lines",chat,south
            imp-u-1,IMP-1,csat,2,"never closes,chat,south
            imp-u-after,IMP-1,csat,5,fine,chat,south

            """);

        var (exit, output) = await RunAsync(connection, "import", "responses", file);

        Assert.Equal(1, exit);
        Assert.Contains("line 4: unterminated quoted field", output, StringComparison.Ordinal);
        Assert.DoesNotContain("line 5:", output, StringComparison.Ordinal);
        Assert.Contains("3 rows: 2 created, 0 already present, 1 refused.", output, StringComparison.Ordinal);
        (exit, output) = await RunAsync(connection, "export", "responses");
        Assert.True(exit == 0, output);
        Assert.Contains("imp-u-after,IMP-1,,,,,csat,5,fine,", output, StringComparison.Ordinal);
        Assert.Contains("\"A quoted comment\nover two lines\"", output, StringComparison.Ordinal);
        Assert.DoesNotContain("imp-u-1,", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnImportStoppedByCtrlCSaysUpToWhichLineItImportedAndARerunImportsTheRest()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("big", ".csv");
        const int total = 300_000;
        await using (var writer = new StreamWriter(file))
        {
            await writer.WriteLineAsync("externalId,customerExternalId,metric,score,respondedAt,site,channel");
            for (var i = 0; i < total; i++)
            {
                await writer.WriteLineAsync($"big-{i},C{i % 20_000},csat,{i % 5 + 1},2026-03-01T00:00:00Z,north,phone");
            }
        }
        using var process = System.Diagnostics.Process.Start(AppProcess.StartInfo(TestDatabases.Sqlite, connection, "import", "responses", file))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long Count()
        {
            try
            {
                using var db = new Microsoft.Data.Sqlite.SqliteConnection(connection + ";Mode=ReadOnly;Pooling=False");
                db.Open();
                using var command = db.CreateCommand();
                command.CommandText = "SELECT COUNT(*) FROM responses";
                return (long)command.ExecuteScalar()!;
            }
            catch (Microsoft.Data.Sqlite.SqliteException)
            {
                return 0; // not created or not migrated yet
            }
        }
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (Count() == 0 && !process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.False(process.HasExited, "the import finished before it could be interrupted");
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 130, output);
        AppProcess.AssertNoCrash(output);
        var line = int.Parse(System.Text.RegularExpressions.Regex.Match(output, @"Interrupted: the rows up to line (\d+) were imported").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(line, 2, total);
        // Exactly the rows up to that line are stored (line 1 is the header), and a rerun adds the rest.
        Assert.Equal(line - 1, Count());
        Assert.Contains($"{line - 1} rows: {line - 1} created, 0 already present, 0 refused.", output, StringComparison.Ordinal);
        var (exit, rerun) = await RunAsync(connection, "import", "responses", file);
        Assert.True(exit == 0, rerun);
        Assert.Contains($"{total} rows: {total - line + 1} created, {line - 1} already present, 0 refused.", rerun, StringComparison.Ordinal);
        Assert.Equal(total, Count());
    }

    [Fact]
    public async Task DemoRefusesADatabaseThatHoldsDataAndSaysWhatToDoWhenItIsDemoData()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("contacts", ".csv");
        await File.WriteAllTextAsync(file, "externalId,customerExternalId,channel,occurredAt\nOWN-1,C-1,phone,2026-02-01\n");
        Assert.Equal(0, (await RunAsync(connection, "import", "contacts", file)).ExitCode);
        var (exit, output) = await RunAsync(connection, "demo");
        Assert.Equal(1, exit);
        Assert.Contains("Demo data not loaded: the database already holds contacts.", output, StringComparison.Ordinal);

        // What a demo load stopped half-way leaves behind.
        await File.WriteAllTextAsync(file, "externalId,customerExternalId,channel,occurredAt\nDEMO-C-000001,CUST-000001,phone,2026-02-01\n");
        Assert.Equal(0, (await RunAsync(connection, "import", "contacts", file)).ExitCode);
        (exit, output) = await RunAsync(connection, "demo");
        Assert.Equal(1, exit);
        Assert.Contains("already holds demo data", output, StringComparison.Ordinal);
        Assert.Contains("start again from an empty database", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExportToStdoutHoldsOnlyTheCsvEvenWhenAMigrationRunsOnTheWay()
    {
        // A fresh database: the export migrates it first, and the migration's log lines must not land in the CSV.
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        var (exit, output) = await RunAsync(connection, "export", "responses");
        Assert.True(exit == 0, output);
        Assert.StartsWith("externalId,customerExternalId,", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("serve", "--help")]
    [InlineData("--urls", "http://127.0.0.1:1", "--help")]
    public async Task HelpPrintsTheUsageAndStartsNoServer(params string[] args)
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        var (exit, output) = await RunAsync(connection, args);
        Assert.True(exit == 0, output);
        Assert.Contains("Usage: closeloop [verb] [options]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AQuoteThatNeverClosesDoesNotSwallowTheRowsUpToTheNextQuote()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("contacts", ".csv");
        // The quote on line 2 never closes; a later line holds a quote of its own (an inch mark), which a lenient
        // reader takes for the closing one and so merges lines 2 to 5 into one record without a word.
        await File.WriteAllTextAsync(file, """
            externalId,customerExternalId,channel,occurredAt,summary
            q-1,CQ,phone,2026-02-01,"starts quoted, never closed
            q-2,CQ,phone,2026-02-01,fine
            q-3,CQ,phone,2026-02-01,fine
            q-4,CQ,phone,2026-02-01,the 5" screen broke
            q-5,CQ,phone,2026-02-01,fine
            r-1,CR,phone,2026-02-01,"starts quoted again
            r-2,CR,phone,2026-02-01,fine
            r-3,CR,phone,2026-02-01,the 5",cracked
            r-4,CR,phone,2026-02-01,fine

            """);

        var (exit, output) = await RunAsync(connection, "import", "contacts", file);

        Assert.Equal(1, exit);
        Assert.Contains("line 2: text after a closing quote on line 5 (the quote opens on line 2", output, StringComparison.Ordinal);
        Assert.Contains("line 7: a quoted field runs from line 7 to line 9", output, StringComparison.Ordinal);
        Assert.Contains("line 9: 6 fields where the header names 5", output, StringComparison.Ordinal);
        Assert.Contains("9 rows: 6 created, 0 already present, 3 refused.", output, StringComparison.Ordinal);
        (exit, output) = await RunAsync(connection, "export", "contacts");
        Assert.True(exit == 0, output);
        foreach (var id in new[] { "q-2", "q-3", "q-4", "q-5", "r-2", "r-4" })
        {
            Assert.Contains($"\n{id},", output, StringComparison.Ordinal);
        }
        Assert.Contains("the 5\"\" screen broke", output, StringComparison.Ordinal);
        Assert.DoesNotContain("q-1,", output, StringComparison.Ordinal);
        Assert.DoesNotContain("r-3,", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALineThatIsNotUtf8IsRefusedWithItsLineAndTheOtherLinesAreImported()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("responses", ".csv");
        // A byte order mark, a UTF-8 line, and a Windows-1252 line ("Café … naïve" as single bytes E9 and EF).
        var bytes = new List<byte> { 0xEF, 0xBB, 0xBF };
        bytes.AddRange(Encoding.UTF8.GetBytes("externalId,customerExternalId,metric,score,comment,channel,site\r\nutf-1,LAT-1,csat,4,Café au lait,chat,south\r\n"));
        bytes.AddRange(Encoding.Latin1.GetBytes("lat-1,LAT-1,csat,2,Café service was naïve,chat,south\r\n"));
        await File.WriteAllBytesAsync(file, bytes.ToArray());

        var (exit, output) = await RunAsync(connection, "import", "responses", file);

        Assert.Equal(1, exit);
        Assert.Contains("line 3: not valid UTF-8 text", output, StringComparison.Ordinal);
        Assert.DoesNotContain("ignoring unknown columns", output, StringComparison.Ordinal);
        Assert.Contains("2 rows: 1 created, 0 already present, 1 refused.", output, StringComparison.Ordinal);
        (exit, output) = await RunAsync(connection, "export", "responses");
        Assert.True(exit == 0, output);
        Assert.Contains("utf-1,LAT-1,,,,,csat,4,Café au lait,", output, StringComparison.Ordinal);
        Assert.DoesNotContain("lat-1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("\uFFFD", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("externalId,customerExternalId,metric,score,score,channel,site", "the columns 'score' and 'score' both give score")]
    [InlineData("externalId,customer,customerExternalId,metric,score,channel,site", "the columns 'customer' and 'customerExternalId' both give customer.externalId")]
    [InlineData("", "the file is empty; the first line must name the columns")]
    public async Task AHeaderThatNamesAFieldTwiceOrNoneRefusesTheFile(string header, string message)
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("responses", ".csv");
        await File.WriteAllTextAsync(file, $"{header}\ndup-1,DUP-1,csat,2,3,chat,south\n");

        var (exit, output) = await RunAsync(connection, "import", "responses", file);

        Assert.Equal(2, exit);
        Assert.Contains($"line 1: {message}", output, StringComparison.Ordinal);
        Assert.Contains("nothing was imported", output, StringComparison.Ordinal);
        // Refused before migrating: the embedded database was not even created.
        Assert.False(File.Exists(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connection).DataSource));
        (exit, output) = await RunAsync(connection, "export", "responses");
        Assert.True(exit == 0, output);
        Assert.Contains("0 responses exported", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BlankLinesAreSkippedAndARowWithMoreFieldsThanTheHeaderIsRefused()
    {
        var connection = TestDatabases.CreateDatabase(TestDatabases.Sqlite);
        using var file = new TempFile("responses", ".csv");
        await File.WriteAllTextAsync(file,
            "externalId,customerExternalId,metric,score,channel,site,comment\n" +
            "sp-1,SP-1,csat,4,chat,south,Fine\n" +
            "   \n" +
            "\t \n" +
            ",,,,,,\n" +
            "sp-2,SP-1,csat,2,chat,south,Slow, and rude\n" +
            "sp-3,SP-1,csat,5,chat,south,Trailing empty cell,\n");

        var (exit, output) = await RunAsync(connection, "import", "responses", file);

        Assert.Equal(1, exit);
        Assert.Contains("line 6: 8 fields where the header names 7", output, StringComparison.Ordinal);
        Assert.Equal(1, output.Split('\n').Count(l => l.StartsWith("line ", StringComparison.Ordinal)));
        Assert.Contains("3 rows: 2 created, 0 already present, 1 refused.", output, StringComparison.Ordinal);
    }
}
