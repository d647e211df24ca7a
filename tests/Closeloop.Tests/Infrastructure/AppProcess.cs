using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Closeloop.Tests.Infrastructure;

/// <summary>The real executable in its own process: for the CLI verbs and for killing the server mid-write.</summary>
public sealed class AppProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AppProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public Uri? BaseAddress { get; private set; }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public static ProcessStartInfo StartInfo(string provider, string connectionString, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Closeloop.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.ArgumentList.Add($"--Database:Provider={provider}");
        info.ArgumentList.Add($"--ConnectionStrings:Closeloop={connectionString}");
        info.ArgumentList.Add("--Database:MigrateOnStart=true");
        info.Environment["CLOSELOOP_ADMIN_API_KEY"] = TestApp.AdminKey;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return info;
    }

    /// <summary>An error is one line and an exit code, never an unhandled exception (exit 134 and a stack trace).</summary>
    public static void AssertNoCrash(string output)
    {
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    /// <summary>Runs a CLI verb to completion and returns its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string provider, string connectionString, params string[] args)
    {
        using var process = Process.Start(StartInfo(provider, connectionString, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Starts the server on a free loopback port and waits until /health answers 200.</summary>
    public static async Task<AppProcess> StartServerAsync(string provider, string connectionString, params string[] extra)
    {
        var port = FreePort();
        var app = new AppProcess(Process.Start(StartInfo(provider, connectionString, ["serve", "--urls", $"http://127.0.0.1:{port}", .. extra]))!)
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        };
        using var probe = new HttpClient { BaseAddress = app.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (app._process.HasExited)
            {
                throw new InvalidOperationException("The server exited during start:\n" + app.Output);
            }
            try
            {
                if ((await probe.GetAsync("/health")).StatusCode == HttpStatusCode.OK)
                {
                    return app;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("The server did not become healthy:\n" + app.Output);
    }

    public HttpClient Client()
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestApp.AdminKey);
        return client;
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, as in a crash or an OOM kill.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
        }
        _process.Dispose();
        await Task.CompletedTask;
    }
}
