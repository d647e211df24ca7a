using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Closeloop.Ingest;

/// <summary>
/// The single writer of ingested records in this process. Requests queue their items here and are
/// acknowledged only after the transaction that holds them commits; items that arrive together share one
/// commit (group commit), which is what makes durable single-record ingest fast on SQLite.
/// </summary>
public sealed class IngestWriter(IngestStore store, IOptions<IngestOptions> options, ILogger<IngestWriter> logger) : BackgroundService
{
    private readonly Channel<Job> _jobs = Channel.CreateBounded<Job>(new BoundedChannelOptions(50_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private sealed record Job(IReadOnlyList<IngestItem> Items, WriteScope Scope)
    {
        public TaskCompletionSource<IngestOutcome[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<IngestOutcome[]> WriteAsync(IReadOnlyList<IngestItem> items, WriteScope scope, CancellationToken cancellationToken)
    {
        var job = new Job(items, scope);
        await _jobs.Writer.WriteAsync(job, cancellationToken);
        // Once queued the write goes ahead even if the client goes away: it may be acknowledged to a retry.
        return await job.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var max = options.Value.MaxItemsPerCommit;
        var batch = new List<Job>();
        try
        {
            while (await _jobs.Reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync(batch, max);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is already queued, since its callers are waiting for the answer.
            _jobs.Writer.TryComplete();
            while (_jobs.Reader.TryPeek(out _))
            {
                await DrainAsync(batch, max);
            }
        }
    }

    private async Task DrainAsync(List<Job> batch, int max)
    {
        batch.Clear();
        var count = 0;
        while (count < max && _jobs.Reader.TryRead(out var job))
        {
            batch.Add(job);
            count += job.Items.Count;
        }
        if (batch.Count == 0)
        {
            return;
        }
        await CommitAsync(batch);
    }

    private async Task CommitAsync(IReadOnlyList<Job> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var results = await store.WriteAsync(batch.Select(j => j.Items).ToList(), batch.Select(j => j.Scope).ToList(), CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(results[i]);
                }
                return;
            }
            catch (IngestRaceException) when (attempt < 5)
            {
                // Another process wrote one of these external ids first; on the next attempt the check sees it.
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                // One bad job must not fail its neighbours: write each alone to find it.
                logger.LogWarning(ex, "Group commit of {Jobs} jobs failed; retrying them one by one", batch.Count);
                foreach (var job in batch)
                {
                    await CommitAsync([job]);
                }
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Ingest write failed");
                batch[0].Done.TrySetException(ex);
                return;
            }
        }
    }
}
