using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Closeloop.Bench;

// Benchmarks of docs/benchmarks.md. Usage:
//   dotnet run -c Release --project bench/Closeloop.Bench -- ingest|batch|metrics|alerts|insights|console|postgres|all [options]
// Options: --closeloop DLL --raw DLL --work DIR --reps 3 --seconds 15 --connections 32 --batch-rows 200000
//          --import-rows 200000 --sizes 1000000,10000000 --api-seed-max 1000000 --requests 200 --reuse
//          alerts: --rate 1000 --trigger-rate 10 --rules 20; console: --pages /alerts,/insights,... --console-rows 1000000 --page-requests 20
//          postgres (not part of all): --postgres "Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres" (default: $CLOSELOOP_BENCH_POSTGRES)
var options = Options.Parse(args);
Directory.CreateDirectory(options.Work);
Report.Line($"# Closeloop benchmarks, {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
Report.Line();
Report.Line($"Machine: {Environment.ProcessorCount} cores, {Machine.Cpu()}, {Machine.MemoryGiB():N0} GiB, .NET {Environment.Version}; shared with other builds, so every figure is measured beside its baseline in the same run and the ratio of the two is what counts. Median of {options.Reps} repetitions.");
Report.Line();
var verb = options.Verb;
if (verb is "ingest" or "all")
{
    await Figures.IngestAsync(options);
}
if (verb is "batch" or "all")
{
    await Figures.BatchAsync(options);
}
if (verb is "metrics" or "all")
{
    await Figures.MetricsAsync(options);
}
if (verb is "alerts" or "all")
{
    await AlertFigures.RunAsync(options);
}
if (verb is "insights" or "all")
{
    await InsightFigures.RunAsync(options);
}
if (verb is "console" or "all")
{
    await ConsoleFigures.RunAsync(options);
}
if (verb is "postgres")
{
    await PostgresFigures.RunAsync(options);
}
var reportPath = Path.Combine(options.Work, $"report-{verb}.md");
Report.Save(reportPath);
Console.Error.WriteLine($"report saved to {reportPath}");
return 0;
