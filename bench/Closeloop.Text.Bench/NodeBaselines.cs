using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Closeloop.Text.Bench;

internal sealed record RepositoryPaths(string Root)
{
    public string Baselines => Path.Combine(Root, "bench", "text-baselines");

    /// <summary>Scratch files and results; artifacts/ is git-ignored.</summary>
    public string Output => Directory.CreateDirectory(Path.Combine(Root, "artifacts", "text-eval")).FullName;

    public static RepositoryPaths Locate()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bench", "text-baselines", "package.json")))
                return new RepositoryPaths(dir.FullName);
        }

        throw new DirectoryNotFoundException("Run from inside the Closeloop repository (bench/text-baselines not found).");
    }
}

/// <summary>Runs the npm baselines in bench/text-baselines on files this process wrote, so both sides see the same data.</summary>
internal static class NodeBaselines
{
    public static void WriteJsonLines(string path, IEnumerable<object> rows)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        foreach (var row in rows)
            writer.WriteLine(JsonSerializer.Serialize(row));
    }

    public static async Task<JsonElement?> RunAsync(RepositoryPaths paths, params string[] arguments)
    {
        if (!Directory.Exists(Path.Combine(paths.Baselines, "node_modules")))
        {
            Console.WriteLine("  (installing npm baselines: npm ci)");
            await RunProcessAsync("npm", ["ci", "--no-audit", "--no-fund"], paths.Baselines);
        }

        var output = await RunProcessAsync("node", arguments, paths.Baselines);
        if (output is null)
            return null;
        var lastLine = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return lastLine is null ? null : JsonDocument.Parse(lastLine).RootElement.Clone();
    }

    private static async Task<string?> RunProcessAsync(string fileName, string[] arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                Console.Error.WriteLine($"  {fileName} {string.Join(' ', arguments)} failed: {await stderr}");
                return null;
            }

            return await stdout;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"  {fileName} is not available ({e.Message}); baseline skipped.");
            return null;
        }
    }
}
