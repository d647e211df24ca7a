namespace Closeloop.Text.Bench;

/// <summary>
/// Explores classifier settings on BANKING77's training set only (a 85/15 split of it), so the test set is never
/// used to choose anything. Usage: TUNE_GRID="epochs=8,lr=0.5;epochs=16" … tune.
/// </summary>
internal static class Tuning
{
    public static void Run(DataSets data)
    {
        var all = data.Banking77("train");
        var train = all.Where(e => !DataSets.IsTestRow(e.Text + "#dev")).ToList();
        var dev = all.Where(e => DataSets.IsTestRow(e.Text + "#dev")).ToList();
        Console.WriteLine($"dev split: {train.Count} train, {dev.Count} dev (from BANKING77 train only)");

        var settings = Environment.GetEnvironmentVariable("TUNE_GRID")?.Split(';') ?? ["default"];
        foreach (var setting in settings)
        {
            var options = new TrainingOptions();
            foreach (var pair in setting.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split('=');
                if (kv.Length != 2)
                    continue;
                var value = float.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture);
                options = kv[0] switch
                {
                    "epochs" => options with { Epochs = (int)value },
                    "lr" => options with { LearningRate = value },
                    "final" => options with { FinalRateFraction = value },
                    "bias" => options with { BiasRate = value },
                    _ => options,
                };
            }

            var watch = System.Diagnostics.Stopwatch.StartNew();
            using var classifier = new RootCauseClassifier(train.Select(e => e.Label).Distinct().Select(c => new CauseDefinition(c, [])), 0) { Options = options };
            classifier.Train(train.Select(e => (e.Text, e.Label)));
            var correct = dev.Count(e => classifier.Predict(e.Text)?.Code == e.Label);
            Console.WriteLine($"{setting,-40} dev accuracy {correct / (double)dev.Count:F4}  ({watch.Elapsed.TotalSeconds:F1} s)");
        }
    }
}
