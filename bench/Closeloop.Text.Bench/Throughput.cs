using System.Diagnostics;
using System.Text;

namespace Closeloop.Text.Bench;

/// <summary>
/// Comments per second on one core (one thread, best of three passes after a warm-up) over the same 10,000 comments
/// that npm vader-sentiment scores in the same run.
/// </summary>
internal static class Throughput
{
    private const int Passes = 3;

    public static async Task RunAsync(DataSets data, RepositoryPaths paths, bool skipNode)
    {
        var comments = data.ThroughputComments();
        NodeBaselines.WriteJsonLines(Path.Combine(paths.Output, "comments.jsonl"), comments.Select(c => new { text = c }));

        // Pin to one core so that both sides get one core whatever else the machine is doing.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows())
            Process.GetCurrentProcess().ProcessorAffinity = 1;

        var banking = data.Banking77("train");
        using var banking77 = Evaluation.Train(banking, threshold: 0.5);
        using var keywordsOnly = new RootCauseClassifier(DefaultTaxonomy.Causes);
        var fullWithBanking = new TextAnalyzer(banking77);
        var fullWithKeywords = new TextAnalyzer(keywordsOnly);
        var sentiment = SentimentAnalyzer.Default;
        var model = SentimentModel.Default;
        var signals = SignalDetector.Default;
        var bankingTest = data.Banking77("test").Select(e => e.Text).ToList();

        var work = new (string Name, IReadOnlyList<string> Items, Func<string, double> Work)[]
        {
            ("sentiment only, VADER's rules", comments, c => sentiment.Analyze(c).Compound),
            ("sentiment only, shipped score (VADER + fitted residual)", comments, c => model.Score(c, sentiment.Analyze(c).Compound)),
            ("signals only", comments, c => signals.Detect(c).Count),
            ("full: sentiment + signals + cause (default taxonomy, keywords)", comments, c => fullWithKeywords.Analyze(c).Signals.Count),
            ("full: sentiment + signals + cause (77 learned causes)", comments, c => fullWithBanking.Analyze(c).Signals.Count),
            ("cause only, 77 classes, BANKING77 test texts", bankingTest, c => banking77.Predict(c)?.Confidence ?? 0),
        };
        var rows = Measure(work);

        var vader = skipNode ? null : await NodeBaselines.RunAsync(paths, "vader.js", paths.Output);
        var vaderPerSecond = vader is { } v && v.TryGetProperty("comments_per_second", out var value) ? value.GetDouble() : double.NaN;

        var report = new StringBuilder();
        report.AppendLine($"# Closeloop.Text throughput ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, one core, .NET {Environment.Version}, {Environment.OSVersion})");
        report.AppendLine();
        report.AppendLine("| what | items | items/s | × npm vader-sentiment |");
        report.AppendLine("|---|---:|---:|---:|");
        foreach (var (name, perSecond, count) in rows)
            report.AppendLine($"| {name} | {count} | {perSecond:N0} | {perSecond / vaderPerSecond:F1}× |");
        report.AppendLine($"| npm vader-sentiment 1.1.3 (node {(vader is { } n && n.TryGetProperty("node", out var version) ? version.GetString() : "n/a")}), same 10,000 comments | {comments.Count} | {vaderPerSecond:N0} | 1.0× |");
        Console.Write(report);
        var path = Path.Combine(paths.Output, "throughput-results.md");
        await File.WriteAllTextAsync(path, report.ToString());
        Console.WriteLine($"Written to {path}");
    }

    private static List<(string Name, double PerSecond, int Count)> Measure(IReadOnlyList<(string Name, IReadOnlyList<string> Items, Func<string, double> Work)> work)
    {
        // Two full warm-up passes of everything so that tiered compilation has settled (its background thread shares
        // the one pinned core), then timed rounds that take each part in turn, so that a slow spell of the machine
        // falls on every part rather than on whichever was measured then; the best round of each part counts.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var (_, items, run) in work)
            {
                foreach (var item in items)
                    run(item);
            }
        }

        var best = work.Select(_ => double.MaxValue).ToArray();
        for (var round = 0; round < Passes; round++)
        {
            for (var k = 0; k < work.Count; k++)
            {
                var (_, items, run) = work[k];
                var watch = Stopwatch.StartNew();
                foreach (var item in items)
                    run(item);
                best[k] = Math.Min(best[k], watch.Elapsed.TotalSeconds);
            }
        }

        return work.Select((w, k) => (w.Name, w.Items.Count / best[k], w.Items.Count)).ToList();
    }
}
