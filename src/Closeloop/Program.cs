using Closeloop;
using Closeloop.Cli;
using Closeloop.Data;

SqliteRuntime.Configure();

// One executable: with no verb (or "serve") it runs the web app and API; any other verb is a CLI command
// that works on the database the configuration names, so it can run beside a running server.
var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0].ToLowerInvariant() : "serve";
if (verb != "serve")
{
    return await CliVerbs.RunAsync(args);
}

// "--help" asks for the usage, whatever else is on the line: it must not start a server (and create a database).
if (args.Any(a => a is "--help" or "-h"))
{
    Console.WriteLine(CliVerbs.Usage);
    return 0;
}
var serveArgs = args.SkipWhile(a => a.Equals("serve", StringComparison.OrdinalIgnoreCase)).ToArray();
try
{
    var app = CloseloopApp.Build(serveArgs);
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is IOException or InvalidOperationException || DatabaseFailures.IsUnavailable(ex))
{
    // A port in use, a database that cannot be reached, a setting that is wrong: the operator's to fix, so one line
    // and exit code 1 (the host has logged the details), not a crash dump.
    Console.Error.WriteLine($"Closeloop could not start: {ex.Message}");
    return 1;
}

/// <summary>Visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
