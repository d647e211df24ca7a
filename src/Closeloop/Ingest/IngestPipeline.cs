using System.Text.Json;
using Closeloop.Data;
using Closeloop.Insights;
using Closeloop.Security;
using Closeloop.Web;

namespace Closeloop.Ingest;

public sealed record BatchItemResult(int Index, string? ExternalId, string Status, string? Location, IDictionary<string, string[]>? Errors);

public sealed record BatchResult(int Created, int Existing, int Failed, IReadOnlyList<BatchItemResult> Results);

/// <summary>
/// Parse, analyse, write, answer: the steps every ingest endpoint shares, so that contacts and responses,
/// singly or in batches, get the same validation, idempotency and answers.
/// </summary>
public sealed class IngestPipeline(IngestWriter writer, TextInsights insights)
{
    public const int MaxBatchItems = 1000;

    public delegate IngestItem? Parse(JsonElement json, FieldErrors errors, string prefix);

    public async Task<IResult> SingleAsync<TView>(
        HttpContext http, CloseloopDb db, Parse parse, Func<CloseloopDb, CallerScope, long, CancellationToken, Task<TView?>> load, string location)
        where TView : class
    {
        var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.SingleLimit, http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }
        using (document)
        {
            var errors = new FieldErrors();
            var item = parse(document!.RootElement, errors, "");
            if (item is null || errors.Any)
            {
                return Problems.Validation(errors.ToDictionary());
            }
            var scope = CallerScope.From(http.User);
            var outcome = (await writer.WriteAsync([item], new WriteScope(scope.SiteId, scope.SiteCode), http.RequestAborted))[0];
            switch (outcome.Status)
            {
                case IngestStatus.Invalid:
                    return Problems.Validation(outcome.Errors!);
                case IngestStatus.Conflict:
                    return Problems.Conflict($"A different record with externalId '{item.ExternalId}' already exists.");
                case IngestStatus.NotFound:
                    return Problems.Status(StatusCodes.Status404NotFound, "Not found", string.Join(" ", outcome.Errors!.Select(e => $"{e.Key}: {string.Join("; ", e.Value)}.")));
            }
            var view = outcome.Status == IngestStatus.Created && RecordViews.FromStored(outcome.Stored, outcome.ReceivedAt, scope.IsSiteScoped) is TView built
                ? built
                : await load(db, scope, outcome.Id, http.RequestAborted);
            if (view is null)
            {
                // The same external id is taken by a record the caller may not see: answered as a read of it is.
                return Problems.Status(StatusCodes.Status404NotFound, "Not found", "externalId: no record with this externalId at this API key's site, and the externalId is taken.");
            }
            var url = $"{location}/{Uri.EscapeDataString(item.ExternalId)}";
            return outcome.Status == IngestStatus.Created ? TypedResults.Created(url, view) : TypedResults.Ok(view);
        }
    }

    public async Task<IResult> BatchAsync(HttpContext http, Parse parse, string location)
    {
        var (document, problem) = await JsonBody.ReadAsync(http.Request, JsonBody.BatchLimit, http.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }
        using (document)
        {
            var root = document!.RootElement;
            // Accept a bare array, or {"items": [...]} for clients that cannot send a top-level array.
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("items", out var items))
            {
                root = items;
            }
            if (root.ValueKind != JsonValueKind.Array)
            {
                return Problems.Validation("body", "must be a JSON array of records");
            }
            var count = root.GetArrayLength();
            if (count == 0)
            {
                return Problems.Validation("body", "must hold at least one record");
            }
            if (count > MaxBatchItems)
            {
                return Problems.Validation("body", $"may hold at most {MaxBatchItems} records; split the batch");
            }

            var results = new BatchItemResult?[count];
            var elements = root.EnumerateArray().ToArray();
            var parsed = new (IngestItem? Item, FieldErrors Errors)[count];
            // Parsing and text analysis are CPU work independent per record (a JsonDocument is safe to read
            // from several threads), so a large batch uses every core before the single writer takes over.
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = count < 64 ? 1 : Environment.ProcessorCount }, i =>
            {
                var errors = new FieldErrors();
                parsed[i] = (parse(elements[i], errors, ""), errors);
            });
            var valid = new List<IngestItem>(count);
            var validIndex = new List<int>(count);
            for (var index = 0; index < count; index++)
            {
                var (item, errors) = parsed[index];
                if (item is null || errors.Any)
                {
                    results[index] = new BatchItemResult(index, ExternalIdOf(elements[index]), "invalid", null, errors.ToDictionary());
                }
                else
                {
                    valid.Add(item);
                    validIndex.Add(index);
                }
            }

            if (valid.Count > 0)
            {
                var scope = CallerScope.From(http.User);
                var outcomes = await writer.WriteAsync(valid, new WriteScope(scope.SiteId, scope.SiteCode), http.RequestAborted);
                for (var i = 0; i < outcomes.Length; i++)
                {
                    var outcome = outcomes[i];
                    var externalId = valid[i].ExternalId;
                    var status = outcome.Status switch
                    {
                        IngestStatus.Created => "created",
                        IngestStatus.Existing => "existing",
                        IngestStatus.Conflict => "conflict",
                        IngestStatus.NotFound => "not_found",
                        _ => "invalid",
                    };
                    var url = outcome.Status is IngestStatus.Created or IngestStatus.Existing ? $"{location}/{Uri.EscapeDataString(externalId)}" : null;
                    results[validIndex[i]] = new BatchItemResult(validIndex[i], externalId, status, url, outcome.Errors);
                }
            }
            var list = results.Select(r => r!).ToList();
            return TypedResults.Ok(new BatchResult(
                list.Count(r => r.Status == "created"), list.Count(r => r.Status == "existing"),
                list.Count(r => r.Status is "invalid" or "conflict" or "not_found"), list));
        }
    }

    public TextFindings? Analyze(string? text) => insights.Analyze(text);

    public TextFindings? AnalyzeComment(string? comment) => insights.AnalyzeComment(comment);

    private static string? ExternalIdOf(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("externalId", out var id) || id.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        try
        {
            return id.GetString();
        }
        catch (InvalidOperationException)
        {
            // Not valid Unicode: the item's errors say so.
            return null;
        }
    }
}
