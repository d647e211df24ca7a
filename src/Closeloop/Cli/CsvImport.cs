using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Closeloop.Ingest;
using Closeloop.Insights;
using Closeloop.Web;
using Spectre.Console;

namespace Closeloop.Cli;

/// <param name="FileRefused">The file as a whole was refused (empty, or a header that is not UTF-8 or names a field twice): nothing was imported.</param>
/// <param name="InterruptedAfterLine">Set when the import was stopped (Ctrl-C): every row up to this line was imported.</param>
public sealed record CsvImportReport(int Rows, int Created, int Existing, int Failed, IReadOnlyList<string> Problems, bool FileRefused = false, int? InterruptedAfterLine = null);

/// <summary>
/// Imports contacts or responses from CSV through the same parser and writer as the HTTP API, so a row is
/// accepted or refused for the same reasons. Columns are the API's field names (customerExternalId,
/// customerEmail… for the customer), matched without regard to case, spaces or underscores.
/// </summary>
public sealed class CsvImport(IngestStore store, TextInsights insights)
{
    // Rows per transaction: each commit is an fsync, so fewer, larger commits import faster.
    private const int ChunkSize = 5000;

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["customer"] = "customer.externalId",
        ["customerid"] = "customer.externalId",
        ["customerexternalid"] = "customer.externalId",
        ["customername"] = "customer.name",
        ["name"] = "customer.name",
        ["customeremail"] = "customer.email",
        ["email"] = "customer.email",
        ["customerphone"] = "customer.phone",
        ["phone"] = "customer.phone",
        ["customerhandle"] = "customer.handle",
        ["handle"] = "customer.handle",
        ["externalid"] = "externalId",
        ["id"] = "externalId",
        ["channel"] = "channel",
        ["occurredat"] = "occurredAt",
        ["site"] = "site",
        ["team"] = "team",
        ["agent"] = "agent",
        ["queue"] = "queue",
        ["reason"] = "reason",
        ["waitseconds"] = "waitSeconds",
        ["transfers"] = "transfers",
        ["resolved"] = "resolved",
        ["summary"] = "summary",
        ["metric"] = "metric",
        ["score"] = "score",
        ["comment"] = "comment",
        ["respondedat"] = "respondedAt",
        ["contactexternalid"] = "contactExternalId",
        ["contact"] = "contactExternalId",
    };

    /// <summary>
    /// The columns <c>closeloop export</c> adds after the record's own: the analysis is made again on import and the
    /// time of receipt is the importer's, so they are skipped without a warning.
    /// </summary>
    private static readonly HashSet<string> Derived = new(StringComparer.Ordinal) { "sentiment", "signals", "rootcause", "rootcauseconfidence", "receivedat" };

    private static readonly HashSet<string> Numbers = new(StringComparer.Ordinal) { "score", "waitSeconds", "transfers" };

    /// <summary>
    /// Why the whole file would be refused (empty, a header that is not UTF-8, two columns for one field), or null.
    /// Asked before the database is migrated, so a file that imports nothing leaves an embedded database as it was.
    /// </summary>
    public static string? FileRefusal(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = CsvReader.OpenText(stream);
        return ReadHeader(reader.ReadLine()).Refusal;
    }

    private static (List<string> Fields, string?[] Header, char Delimiter, string? Refusal) ReadHeader(string? first)
    {
        if (string.IsNullOrWhiteSpace(first))
        {
            return ([], [], ',', "line 1: the file is empty; the first line must name the columns");
        }
        if (first.Contains(CsvReader.NotUtf8, StringComparison.Ordinal))
        {
            return ([], [], ',', "line 1: not valid UTF-8 text (is the file in another encoding, such as Windows-1252? Save it as UTF-8)");
        }
        // A semicolon-separated export (common where the decimal separator is a comma) is read as well.
        var delimiter = first.Count(c => c == ';') > first.Count(c => c == ',') ? ';' : ',';
        var fields = new CsvReader(new StringReader(first)) { Delimiter = delimiter }.Read() ?? [];
        var header = fields.Select(h => Aliases.GetValueOrDefault(Normalize(h))).ToArray();
        // Two columns for one field would leave the last one winning on every row, whichever the file meant.
        var twice = header.Select((field, i) => (field, i)).Where(c => c.field is not null).GroupBy(c => c.field).FirstOrDefault(g => g.Count() > 1);
        return twice is null
            ? (fields, header, delimiter, null)
            : (fields, header, delimiter, $"line 1: the columns {string.Join(" and ", twice.Select(c => $"'{fields[c.i].Trim()}'"))} both give {twice.Key}; keep one");
    }

    public async Task<CsvImportReport> RunAsync(string kind, string path, bool showProgress, CancellationToken cancellationToken)
    {
        var isContacts = kind == "contacts";
        var problems = new List<(int Line, string Text)>();
        int rows = 0, created = 0, existing = 0, failed = 0;
        var refused = false;
        int? interruptedAfter = null;
        var fileLength = new FileInfo(path).Length;

        async Task Work(ProgressTask? progress)
        {
            using var stream = File.OpenRead(path);
            using var reader = CsvReader.OpenText(stream);
            var csv = new CsvReader(reader);
            var first = reader.ReadLine();
            var (headerFields, header, delimiter, refusal) = ReadHeader(first);
            if (refusal is not null)
            {
                problems.Add((1, refusal));
                refused = true;
                return;
            }
            csv.Delimiter = delimiter;
            csv.SkipLines(1);
            csv.ExpectedFields = headerFields.Count;
            var unknown = headerFields.Where((h, i) => header[i] is null && h.Trim().Length > 0 && !Derived.Contains(Normalize(h))).ToList();
            if (unknown.Count > 0)
            {
                problems.Add((1, $"line 1: ignoring unknown columns {string.Join(", ", unknown)}"));
            }
            // Three stages overlap: this loop reads the file, each chunk's rows are parsed and analysed on every core,
            // and the previous chunk is written (one transaction, one fsync) meanwhile on another thread. Chunks are
            // written in file order, one at a time, on the store's single connection.
            var chunk = new List<(int Line, List<string> Record)>(ChunkSize);
            Task<ChunkResult>? writing = null;
            var lastLine = 1;
            while (csv.Read() is { } record)
            {
                var line = csv.RecordLine;
                lastLine = line;
                // A blank line, a line of spaces or a row of empty cells (a spreadsheet's trailing rows) holds nothing.
                if (csv.Problem is null && record.TrueForAll(string.IsNullOrWhiteSpace))
                {
                    continue;
                }
                rows++;
                var problem = csv.Problem ?? (record.Count > headerFields.Count && !record.Skip(headerFields.Count).All(string.IsNullOrWhiteSpace)
                    ? $"{record.Count} fields where the header names {headerFields.Count} (a {(csv.Delimiter == ';' ? "semicolon" : "comma")} in a field that is not quoted, or a stray quote?)"
                    : null);
                if (problem is not null)
                {
                    failed++;
                    problems.Add((line, $"line {line}: {problem}"));
                    continue;
                }
                chunk.Add((line, record));
                if (chunk.Count == ChunkSize)
                {
                    await NextAsync();
                    progress?.Value(stream.Position);
                }
                if (cancellationToken.IsCancellationRequested)
                {
                    // Stopped (Ctrl-C): what was read is still written, so the report can say exactly where to
                    // resume; each chunk is one transaction, never cut in half.
                    interruptedAfter = lastLine;
                    break;
                }
            }
            await NextAsync();
            await CollectAsync();
            progress?.Value(fileLength);

            async Task NextAsync()
            {
                if (chunk.Count == 0)
                {
                    return;
                }
                var parsed = new (IngestItem? Item, string? Problem)[chunk.Count];
                var records = chunk;
                Parallel.For(0, records.Count, i => parsed[i] = Parse(header, records[i].Record, isContacts));
                await CollectAsync();
                var good = new List<(int Line, IngestItem Item)>(records.Count);
                for (var i = 0; i < records.Count; i++)
                {
                    if (parsed[i].Item is { } item)
                    {
                        good.Add((records[i].Line, item));
                    }
                    else
                    {
                        failed++;
                        problems.Add((records[i].Line, $"line {records[i].Line}: {parsed[i].Problem}"));
                    }
                }
                if (good.Count > 0)
                {
                    writing = Task.Run(() => WriteAsync(good, CancellationToken.None), CancellationToken.None);
                }
                chunk = new List<(int Line, List<string> Record)>(ChunkSize);
            }

            async Task CollectAsync()
            {
                if (writing is null)
                {
                    return;
                }
                var result = await writing;
                writing = null;
                created += result.Created;
                existing += result.Existing;
                failed += result.Problems.Count;
                problems.AddRange(result.Problems);
            }
        }

        if (showProgress)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async context => await Work(context.AddTask($"Importing {kind} from {Path.GetFileName(path)}", maxValue: Math.Max(1, fileLength))));
        }
        else
        {
            await Work(null);
        }
        // Parse problems of a chunk are known before the write problems of the chunk before it.
        return new CsvImportReport(rows, created, existing, failed, problems.OrderBy(p => p.Line).Select(p => p.Text).ToList(), refused, interruptedAfter);
    }

    private sealed record ChunkResult(int Created, int Existing, List<(int Line, string Text)> Problems);

    private (IngestItem? Item, string? Problem) Parse(string?[] header, List<string> record, bool isContacts)
    {
        var errors = new FieldErrors();
        using var document = JsonDocument.Parse(ToJson(header, record).ToJsonString());
        IngestItem? item = isContacts
            ? IngestParser.ParseContact(document.RootElement, errors) is { } c ? new ContactItem(c, insights.Analyze(c.Summary)) : null
            : IngestParser.ParseResponse(document.RootElement, errors) is { } r ? new ResponseItem(r, insights.AnalyzeComment(r.Comment)) : null;
        return item is null || errors.Any
            ? (null, Describe(errors.ToDictionary()))
            : (item, null);
    }

    private async Task<ChunkResult> WriteAsync(List<(int Line, IngestItem Item)> chunk, CancellationToken cancellationToken)
    {
        int created = 0, existing = 0;
        var problems = new List<(int Line, string Text)>();
        var outcomes = (await store.WriteAsync([chunk.Select(c => c.Item).ToList()], [WriteScope.Unrestricted], cancellationToken))[0];
        for (var i = 0; i < outcomes.Length; i++)
        {
            switch (outcomes[i].Status)
            {
                case IngestStatus.Created:
                    created++;
                    break;
                case IngestStatus.Existing:
                    existing++;
                    break;
                default:
                    problems.Add((chunk[i].Line, $"line {chunk[i].Line}: {Describe(outcomes[i].Errors ?? new Dictionary<string, string[]>())}"));
                    break;
            }
        }
        return new ChunkResult(created, existing, problems);
    }

    private static string Describe(IEnumerable<KeyValuePair<string, string[]>> errors) =>
        string.Join("; ", errors.Select(e => $"{e.Key} {string.Join(", ", e.Value)}"));

    private static string Normalize(string header) =>
        new string(header.Where(char.IsLetterOrDigit).ToArray()).ToLowerInvariant();

    private static JsonObject ToJson(string?[] header, List<string> record)
    {
        var json = new JsonObject();
        var customer = new JsonObject();
        for (var i = 0; i < header.Length && i < record.Count; i++)
        {
            var field = header[i];
            // A file from `closeloop export` (or the console's CSV) guards text a spreadsheet would run as a formula.
            var text = CsvExport.Unprotect(record[i]);
            if (field is null || string.IsNullOrWhiteSpace(text))
            {
                continue;
            }
            JsonNode value = field switch
            {
                _ when Numbers.Contains(field) && long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => JsonValue.Create(n),
                _ when Numbers.Contains(field) && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
                "resolved" when ParseBool(text) is { } b => JsonValue.Create(b),
                _ => JsonValue.Create(text)!,
            };
            if (field.StartsWith("customer.", StringComparison.Ordinal))
            {
                customer[field["customer.".Length..]] = value;
            }
            else
            {
                json[field] = value;
            }
        }
        // With customer columns in the file, a blank one is reported as customer.externalId, the field to fix.
        if (customer.Count > 0 || header.Any(h => h?.StartsWith("customer.", StringComparison.Ordinal) == true))
        {
            json["customer"] = customer;
        }
        return json;
    }

    private static bool? ParseBool(string text) => text.Trim().ToLowerInvariant() switch
    {
        "true" or "yes" or "y" or "1" => true,
        "false" or "no" or "n" or "0" => false,
        _ => null,
    };
}
