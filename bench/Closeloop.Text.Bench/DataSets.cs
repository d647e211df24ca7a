using System.Globalization;
using System.Text;

namespace Closeloop.Text.Bench;

internal sealed record LabelledText(string Text, string Label);

internal sealed record RatedText(string Text, double Score);

/// <summary>The public data sets in shared/data, read exactly as published.</summary>
internal sealed class DataSets(string root)
{
    public string Root { get; } = root;

    /// <summary>Finds shared/data by walking up from the working directory (the repository sits beside shared/).</summary>
    public static DataSets Locate(string? explicitRoot)
    {
        if (explicitRoot is not null)
            return new DataSets(explicitRoot);
        var environment = Environment.GetEnvironmentVariable("CLOSELOOP_DATA");
        if (!string.IsNullOrEmpty(environment))
            return new DataSets(environment);
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "data") })
            {
                if (File.Exists(Path.Combine(candidate, "banking77", "train.csv")))
                    return new DataSets(candidate);
            }
        }

        throw new DirectoryNotFoundException("shared/data not found: pass --data <dir> or set CLOSELOOP_DATA.");
    }

    public IReadOnlyList<LabelledText> Banking77(string split) =>
        ReadCsv(Path.Combine(Root, "banking77", $"{split}.csv"), csv => new LabelledText(csv.GetField("text"), csv.GetField("category")));

    /// <summary>CFPB complaints with a narrative, labelled by Issue, split 80/20 by a hash of the Complaint ID.</summary>
    public (IReadOnlyList<LabelledText> Train, IReadOnlyList<LabelledText> Test) CfpbSplit()
    {
        var rows = ReadCsv(Path.Combine(Root, "cfpb", "complaints_sample.csv"), csv => (
            Id: csv.GetField("Complaint ID"),
            Narrative: csv.GetField("Consumer complaint narrative"),
            Issue: csv.GetField("Issue")));
        var train = new List<LabelledText>();
        var test = new List<LabelledText>();
        foreach (var row in rows.Where(r => !string.IsNullOrWhiteSpace(r.Narrative) && !string.IsNullOrWhiteSpace(r.Issue)))
        {
            var example = new LabelledText(row.Narrative, row.Issue);
            (IsTestRow(row.Id) ? test : train).Add(example);
        }

        return (train, test);
    }

    // Stable across runtimes and machines (string.GetHashCode is randomised per process).
    public static bool IsTestRow(string key)
    {
        // FNV-1a, 32 bits.
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(key))
            hash = (hash ^ b) * 16777619u;
        return hash % 5 == 0;
    }

    public IReadOnlyList<RatedText> VaderGroundTruth(string file) =>
        File.ReadLines(Path.Combine(Root, "vader_gt", file), Encoding.UTF8)
            .Select(line => line.Split('\t'))
            .Where(fields => fields.Length >= 3)
            .Select(fields => new RatedText(string.Join('\t', fields.Skip(2)), double.Parse(fields[1], CultureInfo.InvariantCulture)))
            .ToList();

    /// <summary>
    /// The 10,000 comments both throughput runs use: every tweet and review snippet of the VADER ground truth, 1,000
    /// CFPB narratives and the rest from BANKING77's test set, in that fixed order.
    /// </summary>
    public IReadOnlyList<string> ThroughputComments()
    {
        const int total = 10_000;
        var comments = new List<string>(total);
        comments.AddRange(VaderGroundTruth("tweets_GroundTruth.txt").Select(r => r.Text));
        comments.AddRange(VaderGroundTruth("amazonReviewSnippets_GroundTruth.txt").Select(r => r.Text));
        var (cfpbTrain, cfpbTest) = CfpbSplit();
        comments.AddRange(cfpbTrain.Concat(cfpbTest).Take(1000).Select(e => e.Text.ReplaceLineEndings(" ")));
        comments.AddRange(Banking77("test").Select(e => e.Text).Take(total - comments.Count));
        return comments.Take(total).ToList();
    }

    private static List<T> ReadCsv<T>(string path, Func<CsvRow, T> map)
    {
        var records = CsvRecords(File.ReadAllText(path, Encoding.UTF8)).ToList();
        var header = records[0];
        var columns = header.Select((name, index) => (name, index)).ToDictionary(c => c.name, c => c.index, StringComparer.Ordinal);
        return records.Skip(1).Where(r => r.Count > 1).Select(r => map(new CsvRow(columns, r))).ToList();
    }

    // RFC 4180: quoted fields may hold commas, doubled quotes and line breaks (CFPB narratives do).
    private static IEnumerable<List<string>> CsvRecords(string text)
    {
        var record = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                record.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    i++;
                record.Add(field.ToString());
                field.Clear();
                yield return record;
                record = [];
            }
            else
            {
                field.Append(c);
            }
        }

        if (field.Length > 0 || record.Count > 0)
        {
            record.Add(field.ToString());
            yield return record;
        }
    }
}

internal readonly record struct CsvRow(Dictionary<string, int> Columns, List<string> Fields)
{
    public string GetField(string name) => Columns.TryGetValue(name, out var i) && i < Fields.Count ? Fields[i] : "";

}
