using Closeloop.Demo;
using Closeloop.Security;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Closeloop.Data;

/// <summary>
/// Runs before the server takes requests: migrates the embedded SQLite database (PostgreSQL only when
/// Database:MigrateOnStart says so, since a production schema change should be deliberate), creates the
/// bootstrap admin key, and loads demo data when asked.
/// </summary>
public sealed class StartupTasks(IServiceProvider services, IConfiguration configuration, DatabaseReadiness readiness, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<Db>();
        if (db.IsSqlite)
        {
            logger.LogDebug("SQLite {Version}: memory statistics off {MemStatus} (0 = applied)",
                SQLitePCL.raw.sqlite3_libversion().utf8_to_string(), SqliteRuntime.MemoryStatistics);
        }
        var migrator = services.GetRequiredService<Migrator>();
        if (db.IsSqlite || configuration.GetValue<bool>("Database:MigrateOnStart"))
        {
            await migrator.MigrateAsync(cancellationToken);
        }
        else if ((await migrator.PendingAsync(cancellationToken)).Count > 0)
        {
            throw new InvalidOperationException("The PostgreSQL schema is behind: run `closeloop migrate` (or set Database:MigrateOnStart=true).");
        }
        await using var scope = services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<CloseloopDb>();
        var time = services.GetRequiredService<TimeProvider>();
        if (configuration["CLOSELOOP_ADMIN_API_KEY"] is { Length: > 0 } adminKey)
        {
            try
            {
                await ApiKeyIssuer.EnsureBootstrapKeyAsync(context, adminKey, time.GetUtcNow(), cancellationToken);
            }
            catch (Microsoft.EntityFrameworkCore.DbUpdateException)
            {
                // Several processes started together on one PostgreSQL database each insert the key; the losers of
                // that race find it there on a second look instead of failing to start.
                context.ChangeTracker.Clear();
                await ApiKeyIssuer.EnsureBootstrapKeyAsync(context, adminKey, time.GetUtcNow(), cancellationToken);
            }
        }
        // The classifier starts from the taxonomy's keywords and every example learned before this start.
        await services.GetRequiredService<Insights.TextInsights>().LoadAsync(context, cancellationToken);
        if (configuration.GetValue<bool>("Demo:Load"))
        {
            await DemoData.LoadIfEmptyAsync(services, Console.Out, cancellationToken);
        }
        readiness.Ready = true;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public sealed class DatabaseReadiness
{
    private volatile bool _ready;

    public bool Ready
    {
        get => _ready;
        set => _ready = value;
    }
}

public sealed class DatabaseHealthCheck(DatabaseReadiness readiness, CloseloopDb db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!readiness.Ready)
        {
            return HealthCheckResult.Unhealthy("The database is not migrated yet.");
        }
        return await db.Database.CanConnectAsync(cancellationToken) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The database does not answer.");
    }
}
