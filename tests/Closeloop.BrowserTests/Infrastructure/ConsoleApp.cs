using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;

namespace Closeloop.BrowserTests.Infrastructure;

/// <summary>
/// The real Closeloop process on a fresh SQLite file and a free port, plus Debian's Chromium driven by Playwright.
/// One per test run: starting either costs seconds, and each test isolates itself with its own ids and users.
/// </summary>
public sealed class ConsoleApp : IAsyncLifetime
{
    public const string AdminKey = "browser-test-admin-key-0123456789";
    public const string AdminEmail = "first.admin@closeloop.test";
    public const string Password = "correct horse battery";

    private readonly StringBuilder _output = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _blocked = new();

    /// <summary>What the console's Content-Security-Policy blocked in any page of any test: a script or style it blocks breaks a page quietly.</summary>
    public IReadOnlyCollection<string> BlockedByPolicy => _blocked;
    private Process? _process;
    private IPlaywright? _playwright;

    public Uri BaseAddress { get; private set; } = null!;

    public string DatabaseFile { get; } = Path.Combine(Path.GetTempPath(), "closeloop-browser-tests", $"{Guid.NewGuid():N}.db");

    public IBrowser Browser { get; private set; } = null!;

    public HttpClient Api { get; private set; } = null!;

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

    public static string ArtifactsFolder { get; } = FindArtifactsFolder();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabaseFile)!);
        // The first admin comes from the CLI, as on a fresh deployment.
        var (exit, printed) = await RunCliAsync("user", "create", "--email", AdminEmail, "--password", Password, "--role", "admin", "--name", "First Admin");
        if (exit != 0)
        {
            throw new InvalidOperationException($"closeloop user create failed ({exit}):\n{printed}");
        }

        var port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        _process = Process.Start(StartInfo("serve", "--urls", BaseAddress.ToString().TrimEnd('/')))!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Api = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        await WaitHealthyAsync();
        // Every bad CSAT goes to the supervisor of the agent's team, with two hours to reach the customer.
        await PostAsync("/api/v1/alert-rules", System.Text.Json.Nodes.JsonNode.Parse("""
            {"name": "Unhappy customer", "enabled": true,
             "when": {"all": [{"field": "metric", "op": "eq", "value": "csat"}, {"field": "score", "op": "lte", "value": 2}]},
             "owner": {"kind": "teamSupervisor"}, "deadline": "PT2H", "clock": "24x7"}
            """)!);

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        Api?.Dispose();
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        // The server process is gone, so nothing holds the database any more.
        foreach (var path in new[] { DatabaseFile, DatabaseFile + "-wal", DatabaseFile + "-shm" })
        {
            File.Delete(path);
        }
        // Every page every test opened: nothing the console ships may be blocked by its own policy.
        if (!_blocked.IsEmpty)
        {
            throw new InvalidOperationException($"The Content-Security-Policy blocked:\n{string.Join("\n", _blocked)}");
        }
    }

    /// <summary>A fresh browser context (its own cookies), so each person in a test has their own session.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 860)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(10_000);
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            // Fonts aside: SurveyJS's stylesheet asks Google for Open Sans, and a self-hosted console makes no requests to
            // third parties, so the designer and the survey page fall back to the system font by design.
            if (message.Type == "error" && message.Text.Contains("Content Security Policy", StringComparison.Ordinal)
                && !message.Text.StartsWith("Loading the font 'https://fonts.gstatic.com/", StringComparison.Ordinal))
            {
                _blocked.Enqueue($"{page.Url}: {message.Text}");
            }
        };
        return page;
    }

    public async Task<IPage> SignedInPageAsync(string email, string password = Password, int width = 1280, int height = 860)
    {
        var page = await NewPageAsync(width, height);
        await SignInAsync(page, email, password);
        try
        {
            // Sign-in hashes the password and renders the first page; with the three test projects sharing two busy
            // cores that once took longer than the default 10 s, so it gets 30.
            await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal), new PageWaitForURLOptions { Timeout = 30_000 });
        }
        catch (TimeoutException) when (!page.Url.Contains("/login", StringComparison.Ordinal))
        {
            // Signed in: the URL left /login, but the first page's load event did not come within the wait (seen once
            // in CI with the inbox fully rendered). The test goes on once the document itself has been parsed.
            await page.WaitForLoadStateAsync(LoadState.DOMContentLoaded);
        }
        catch (TimeoutException ex)
        {
            var html = await page.ContentAsync();
            var log = Output;
            throw new TimeoutException(
                $"Sign-in of {email} stayed on {page.Url}. Its HTML (last 1,500 characters): {html[Math.Max(0, html.Length - 1500)..]}\n" +
                $"Server output (last 3,000 characters):\n{log[Math.Max(0, log.Length - 3000)..]}", ex);
        }
        return page;
    }

    public static async Task SignInAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/login");
        await page.FillAsync("input[name=email]", email);
        await page.FillAsync("input[name=password]", password);
        await page.ClickAsync("button[type=submit]");
    }

    /// <summary>Creates a person through the API, as an admin would.</summary>
    public async Task CreateUserAsync(string email, string role, string? site = null, string? team = null, string? name = null)
    {
        var response = await Api.PostAsJsonAsync("/api/v1/users", new { email, password = Password, role, site, team, name = name ?? email });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST /api/v1/users answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>A site and a team (created by a first contact, as integrations create them), and a supervisor who owns the team's alerts.</summary>
    public async Task SetUpTeamAsync(string site, string team, string supervisorEmail, string supervisorName)
    {
        await PostAsync("/api/v1/contacts", new
        {
            externalId = Unique.Id("setup"), customer = new { externalId = Unique.Id("setup-cust") }, channel = "phone",
            occurredAt = DateTimeOffset.UtcNow.AddDays(-1).ToString("O"), site, team, agent = team + "-agent",
        });
        await CreateUserAsync(supervisorEmail, "supervisor", site, team, supervisorName);
        var response = await Api.PutAsJsonAsync($"/api/v1/teams/{team}/supervisor", new { supervisor = supervisorEmail });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A bad survey response, as a telephony or survey integration would send it.</summary>
    public Task<JsonElement> PostBadResponseAsync(string externalId, string customer, string site, string team, string comment, string? customerName = null) =>
        PostAsync("/api/v1/responses", new
        {
            externalId, customer = new { externalId = customer, name = customerName, email = $"{customer}@customer.example.com" }, metric = "csat", score = 1, comment,
            respondedAt = DateTimeOffset.UtcNow.ToString("O"), site, team, agent = team + "-agent", channel = "phone",
        });

    public async Task<JsonElement> PostAsync(string url, object body)
    {
        var response = await Api.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {url} answered {(int)response.StatusCode}: {text}");
        }
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> GetAsync(string url)
    {
        var response = await Api.GetAsync(url);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsFolder, name + ".png"), FullPage = true });

    public Task<(int ExitCode, string Output)> RunCliAsync(params string[] args) => RunAsync(StartInfo(args));

    private ProcessStartInfo StartInfo(params string[] args)
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
        info.ArgumentList.Add("--Database:Provider=sqlite");
        info.ArgumentList.Add($"--ConnectionStrings:Closeloop=Data Source={DatabaseFile}");
        info.Environment["CLOSELOOP_ADMIN_API_KEY"] = AdminKey;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        return info;
    }

    private static async Task<(int, string)> RunAsync(ProcessStartInfo info)
    {
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private async Task WaitHealthyAsync()
    {
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException("The server exited during start:\n" + Output);
            }
            try
            {
                if ((await probe.GetAsync("/health")).StatusCode == HttpStatusCode.OK)
                {
                    return;
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
        throw new TimeoutException("The server did not become healthy:\n" + Output);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>test-artifacts/screenshots at the repository root (found by its solution file), kept out of git.</summary>
    private static string FindArtifactsFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Closeloop.slnx")))
        {
            dir = dir.Parent;
        }
        var folder = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "test-artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        return folder;
    }
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleApp>
{
    public const string Name = "console";
}

public static class Unique
{
    public static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
}
