using BenchmarkDotNet.Running;
using Closeloop.Text.Bench;

// Modes:
//   eval        quality figures (sentiment r, classification accuracy/macro-F1, learning curve) + npm baselines
//   throughput  Stopwatch comments/s on one core vs npm vader-sentiment, same 10,000 comments, same run
//   bench       BenchmarkDotNet micro-benchmarks (pass BenchmarkDotNet arguments after "--")
//   sentiment   the sentiment tables of eval alone, without the npm baseline
//   tune        classifier settings explored on a split of BANKING77's training set only (no test data)
var mode = args.FirstOrDefault() ?? "eval";
var dataArgument = args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault();
var skipNode = args.Contains("--no-node");

switch (mode)
{
    case "eval":
        await Evaluation.RunAsync(DataSets.Locate(dataArgument), RepositoryPaths.Locate(), skipNode);
        break;
    case "throughput":
        await Throughput.RunAsync(DataSets.Locate(dataArgument), RepositoryPaths.Locate(), skipNode);
        break;
    case "sentiment":
        {
            var d = DataSets.Locate(dataArgument);
            Evaluation.SentimentSection(Console.WriteLine, d.VaderGroundTruth("tweets_GroundTruth.txt"), d.VaderGroundTruth("amazonReviewSnippets_GroundTruth.txt"), null, Evaluation.Complaints(d), [.. d.Banking77("test").Select(e => e.Text)]);
        }

        break;
    case "tune":
        Tuning.Run(DataSets.Locate(dataArgument));
        break;
    case "bench":
        BenchmarkSwitcher.FromAssembly(typeof(TextBenchmarks).Assembly).Run(args.Skip(1).ToArray());
        break;
    default:
        Console.Error.WriteLine("usage: Closeloop.Text.Bench eval|throughput|bench|tune [--data <shared/data dir>] [--no-node]");
        return 2;
}

return 0;
