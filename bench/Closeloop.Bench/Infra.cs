using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Closeloop.Bench;

/// <summary>A server under test, started as a child process and stopped by its own process id.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    public string BaseUrl { get; }

    public int Pid => _process.Id;

    private ServerProcess(Process process, string baseUrl, StreamWriter log)
    {
        _process = process;
        BaseUrl = baseUrl;
        _log = log;
    }

    /// <summary>Starts <c>dotnet DLL args</c> with the DLL's folder as working directory (so its appsettings.json applies, as in a deployment).</summary>
    public static async Task<ServerProcess> StartAsync(string dll, int port, IEnumerable<string> extraArgs, IDictionary<string, string>? env, string logPath)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        var url = $"http://127.0.0.1:{port}";
        start.ArgumentList.Add(url);
        foreach (var a in extraArgs)
        {
            start.ArgumentList.Add(a);
        }
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                start.Environment[k] = v;
            }
        }
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + dll);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, url, log);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(dll)} exited with {process.ExitCode}; see {logPath}");
            }
            try
            {
                using var response = await http.GetAsync(url + "/health");
                if (response.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        await server.DisposeAsync();
        throw new TimeoutException($"{Path.GetFileName(dll)} did not answer /health within 120 s; see {logPath}");
    }

    /// <summary>Peak resident set size (VmHWM) of the process, in MiB.</summary>
    public double PeakRssMiB() => ProcStatus(Pid, "VmHWM");

    public double RssMiB() => ProcStatus(Pid, "VmRSS");

    public static double ProcStatus(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                var kb = long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }
        return double.NaN;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}

public sealed record WrkResult(double RequestsPerSec, double P50Ms, double P99Ms, long Requests, long Non2xx, string Raw);

public static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(string url, string script, int threads, int connections, int seconds, IDictionary<string, string>? env = null)
    {
        var output = await Shell.RunAsync("wrk", [$"-t{threads}", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", script, url], env);
        return Parse(output);
    }

    public static WrkResult Parse(string output)
    {
        double Number(Regex regex)
        {
            var m = regex.Match(output);
            return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
        }
        double Latency(string pct)
        {
            var m = Regex.Match(output, $@"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
            if (!m.Success)
            {
                return double.NaN;
            }
            var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            return m.Groups[2].Value switch { "us" => v / 1000, "s" => v * 1000, _ => v };
        }
        var non2xx = RegexNon2xx().Match(output);
        var requests = RegexRequests().Match(output);
        return new WrkResult(
            Number(RegexRps()), Latency("50"), Latency("99"),
            requests.Success ? long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            output);
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RegexRps();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex RegexNon2xx();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RegexRequests();
}

public static class Shell
{
    public static async Task<string> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                start.Environment[k] = v;
            }
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var text = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited with {process.ExitCode}: {text}");
        }
        return text;
    }
}

public static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Percentile(IReadOnlyList<double> sortedValues, double p)
    {
        if (sortedValues.Count == 0)
        {
            return double.NaN;
        }
        var rank = (int)Math.Ceiling(p / 100.0 * sortedValues.Count) - 1;
        return sortedValues[Math.Clamp(rank, 0, sortedValues.Count - 1)];
    }

    public static string F(double v, int decimals = 0) => double.IsNaN(v) ? "n/a" : v.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}

/// <summary>Collects markdown lines for the final report and echoes them as they come.</summary>
public static class Report
{
    private static readonly StringBuilder Text = new();

    public static void Line(string line = "")
    {
        Console.WriteLine(line);
        Text.AppendLine(line);
    }

    public static void Note(string line) => Console.Error.WriteLine("  · " + line);

    public static void Save(string path) => File.WriteAllText(path, Text.ToString());
}
