using System.Text;

namespace Closeloop.Text.Tests;

/// <summary>15 BANKING77 intents copied into Data/ (CC BY 4.0, see Data/README.md).</summary>
internal static class BankingSubset
{
    public static IReadOnlyList<(string Text, string Label)> Train { get; } = Read("banking77-subset-train.csv");

    public static IReadOnlyList<(string Text, string Label)> Test { get; } = Read("banking77-subset-test.csv");

    private static List<(string, string)> Read(string name)
    {
        var rows = new List<(string, string)>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", name), Encoding.UTF8).Skip(1))
        {
            // The label never holds a comma, so the last comma splits text from label; quotes wrap texts with commas.
            var comma = line.LastIndexOf(',');
            var text = line[..comma];
            if (text.StartsWith('"'))
                text = text[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal);
            rows.Add((text, line[(comma + 1)..]));
        }

        return rows;
    }
}
