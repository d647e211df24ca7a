using System.Globalization;
using System.Text;

namespace Closeloop.Web;

/// <summary>
/// CSV as RFC 4180 writes it (CRLF, fields with a comma, quote or line break quoted, quotes doubled), streamed to
/// the response. Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
/// gets a leading single quote, because customers write the comments we export.
/// </summary>
public static class CsvExport
{
    public static string Field(object? value) => value switch
    {
        null => "",
        // Numbers we format ourselves are not formulas, so a negative NPS stays a number.
        double d => d.ToString("0.###", CultureInfo.InvariantCulture),
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        bool b => b ? "true" : "false",
        // Milliseconds when there are any, as they are stored: an export imported again is the same instant.
        DateTimeOffset t => t.UtcDateTime.ToString(t.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        _ => Text(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    private static readonly System.Buffers.SearchValues<char> NeedQuotes = System.Buffers.SearchValues.Create(",;\t\"\r\n");

    public static string Text(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }
        // A semicolon or tab is quoted too: spreadsheets in many locales split a .csv file on ';', and an unquoted
        // "fine;=cmd|..." would open as a second cell holding a live formula.
        return value.AsSpan().IndexOfAny(NeedQuotes) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>The inverse of the formula guard in <see cref="Text"/>, for a file <c>closeloop import</c> reads back.</summary>
    public static string Unprotect(string value) =>
        value.Length > 1 && value[0] == '\'' && value[1] is '=' or '+' or '-' or '@' or '\t' or '\r' ? value[1..] : value;

    public static string Line(IEnumerable<object?> fields) => string.Join(',', fields.Select(Field)) + "\r\n";

    /// <summary>Writes the header and rows to the response as they come, so a large export never sits in memory.</summary>
    public static async Task WriteAsync(HttpResponse response, string fileName, IReadOnlyList<string> header, IAsyncEnumerable<object?[]> rows, CancellationToken ct)
    {
        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        await using var writer = new StreamWriter(response.Body, new UTF8Encoding(false), 16 * 1024);
        await writer.WriteAsync(Line(header));
        var count = 0;
        await foreach (var row in rows.WithCancellation(ct))
        {
            await writer.WriteAsync(Line(row));
            if (++count % 1000 == 0)
            {
                await writer.FlushAsync(ct);
            }
        }
        await writer.FlushAsync(ct);
    }

    public static async IAsyncEnumerable<object?[]> Rows<T>(IEnumerable<T> items, Func<T, object?[]> map)
    {
        foreach (var item in items)
        {
            yield return map(item);
        }
        await Task.CompletedTask;
    }
}
