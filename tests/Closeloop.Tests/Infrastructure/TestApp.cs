using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Closeloop.Tests.Infrastructure;

/// <summary>
/// The real app on a real database (a fresh SQLite file or a fresh PostgreSQL database), reached through HTTP.
/// </summary>
public sealed class TestApp : WebApplicationFactory<Program>
{
    public const string AdminKey = "test-admin-key-0123456789abcdef";

    private static readonly ConcurrentDictionary<string, Lazy<TestApp>> SharedApps = new();

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public TestApp(string provider, Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        Provider = provider;
        ConnectionString = TestDatabases.CreateDatabase(provider);
        _services = services;
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Closeloop"] = ConnectionString,
            ["Database:MigrateOnStart"] = "true",
            ["CLOSELOOP_ADMIN_API_KEY"] = AdminKey,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? [])
        {
            _settings[key] = value;
        }
    }

    public string Provider { get; }

    public string ConnectionString { get; }

    /// <summary>One app per provider for tests that only need isolation by their own unique ids.</summary>
    public static TestApp Shared(string provider) => SharedApps.GetOrAdd(provider, p => new Lazy<TestApp>(() =>
    {
        // Start the server once here: WebApplicationFactory builds it lazily and not thread-safely.
        var app = new TestApp(p);
        _ = app.Server;
        return app;
    })).Value;

    public HttpClient Admin() => Client(AdminKey);

    public HttpClient Client(string? apiKey)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return client;
    }

    /// <summary>Creates an API key through the API, as an admin would.</summary>
    public async Task<string> CreateKeyAsync(string role, string? site = null)
    {
        using var admin = Admin();
        var response = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = $"{role} {Guid.NewGuid():N}", role, site });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("key").GetString()!;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        TestDatabases.Drop(Provider, ConnectionString);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.ConfigureTestServices(services => _services?.Invoke(services));
    }
}

public static class Unique
{
    public static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
