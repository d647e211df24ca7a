using Closeloop.Data;

namespace Closeloop.Insights;

/// <summary>Every few seconds, learns the examples other processes stored, so every process classifies alike.</summary>
public sealed class ExampleRefresher(IServiceScopeFactory scopes, TextInsights insights, ILogger<ExampleRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await insights.CatchUpAsync(scope.ServiceProvider.GetRequiredService<CloseloopDb>(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not read new training examples");
            }
        }
    }
}
