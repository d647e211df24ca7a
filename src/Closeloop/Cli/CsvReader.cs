using System.Text;

namespace Closeloop.Cli;

/// <summary>
/// A small RFC 4180 reader: quoted fields, doubled quotes, and line breaks inside quotes. It reports the
/// line each record starts on, which is what a person fixing a bad row needs, and what is wrong with a record
/// that cannot be read as written (<see cref="Problem"/>).
/// </summary>
public sealed class CsvReader(TextReader reader)
{
    /// <summary>
    /// What a byte sequence that is not UTF-8 decodes to in a reader from <see cref="OpenText"/>: a noncharacter, which
    /// no text means, where the usual U+FFFD would let a Windows-1252 "Café" be stored as "Caf\uFFFD" without a word.
    /// </summary>
    public const char NotUtf8 = '\uFDD0';

    private readonly StringBuilder _replay = new();
    private string _pending = string.Empty;
    private int _pendingAt;
    private int _line = 1;

    public int RecordLine { get; private set; }

    /// <summary>Why the last record read is not what its line says, or null when it is.</summary>
    public string? Problem { get; private set; }

    public char Delimiter { get; set; } = ',';

    /// <summary>
    /// The header's number of fields, once known: a record whose quoted field ran over several lines and that then
    /// holds more fields than this took in the lines of the records after it, so those lines are read again.
    /// </summary>
    public int ExpectedFields { get; set; }

    /// <summary>
    /// Reads a file as UTF-8 (a byte order mark is skipped), with each invalid byte sequence read as
    /// <see cref="NotUtf8"/>, so the record holding it is reported with its line instead of imported garbled.
    /// </summary>
    public static StreamReader OpenText(Stream stream)
    {
        var utf8 = (Encoding)new UTF8Encoding(encoderShouldEmitUTF8Identifier: true).Clone();
        utf8.DecoderFallback = new DecoderReplacementFallback(NotUtf8.ToString());
        return new StreamReader(stream, utf8, detectEncodingFromByteOrderMarks: false);
    }

    /// <summary>Counts lines already consumed by the caller, so that reported line numbers stay right.</summary>
    public void SkipLines(int count) => _line += count;

    public List<string>? Read()
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        // Once a quoted field runs past the end of its line, the rest is kept: should the quote never close, those
        // lines are read again as records of their own instead of vanishing into one field.
        var replayLine = 0;
        var quoteLine = 0;
        var closedQuote = false;
        RecordLine = _line;
        Problem = null;
        while (true)
        {
            var c = Next();
            if (c == -1)
            {
                if (!any && field.Length == 0 && fields.Count == 0)
                {
                    return null;
                }
                if (quoted)
                {
                    Problem = quoteLine == RecordLine ? "unterminated quoted field" : $"unterminated quoted field (the quote opens on line {quoteLine})";
                    if (replayLine > 0)
                    {
                        Replay(replayLine);
                    }
                }
                fields.Add(field.ToString());
                _replay.Clear();
                return fields;
            }
            any = true;
            var ch = (char)c;
            if (replayLine > 0)
            {
                _replay.Append(ch);
            }
            if (ch == NotUtf8)
            {
                Problem ??= "not valid UTF-8 text (is the file in another encoding, such as Windows-1252? Save it as UTF-8)";
            }
            if (quoted)
            {
                if (ch == '"')
                {
                    if (Peek() == '"')
                    {
                        Next();
                        if (replayLine > 0)
                        {
                            _replay.Append('"');
                        }
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                        closedQuote = true;
                    }
                }
                else
                {
                    if (ch == '\n' || (ch == '\r' && Peek() != '\n'))
                    {
                        _line++;
                        if (replayLine == 0)
                        {
                            replayLine = _line;
                        }
                    }
                    field.Append(ch);
                }
            }
            else if (closedQuote && ch != Delimiter && ch != '\r' && ch != '\n')
            {
                // "…"text: the quote that seemed to close the field did not, so the field's own quote was never
                // closed or a quote inside it was not doubled ("5" screen"). A field that ran over lines to get
                // here swallowed the records after it: they are read again, and this record is reported.
                Problem ??= _line == quoteLine
                    ? "text after a closing quote (a quote inside a quoted field must be doubled, or the field's quote is never closed)"
                    : $"text after a closing quote on line {_line} (the quote opens on line {quoteLine}: never closed, or a quote inside it not doubled)";
                if (replayLine > 0)
                {
                    fields.Add(field.ToString());
                    Replay(replayLine);
                    return fields;
                }
                closedQuote = false;
                field.Append(ch);
            }
            else if (ch == '"' && field.Length == 0)
            {
                quoted = true;
                quoteLine = _line;
                // Lines before this quote were read as written: only what follows it would be read again.
                replayLine = 0;
                _replay.Clear();
            }
            else if (ch == Delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
                closedQuote = false;
            }
            else if (ch == '\r' || ch == '\n')
            {
                // CRLF or a lone CR ends the record the same way as LF.
                if (ch == '\r' && Peek() == '\n')
                {
                    Next();
                    if (replayLine > 0)
                    {
                        _replay.Append('\n');
                    }
                }
                _line++;
                fields.Add(field.ToString());
                if (replayLine > 0 && ExpectedFields > 0 && fields.Count > ExpectedFields && !fields.Skip(ExpectedFields).All(string.IsNullOrWhiteSpace))
                {
                    Problem ??= $"a quoted field runs from line {quoteLine} to line {_line - 1} and the record then has {fields.Count} fields where the header names {ExpectedFields}: a quote that is never closed?";
                    Replay(replayLine);
                    return fields;
                }
                _replay.Clear();
                return fields;
            }
            else
            {
                field.Append(ch);
            }
        }
    }

    /// <summary>Reads again, as records of their own, the lines from <paramref name="line"/> that the last record took in.</summary>
    private void Replay(int line)
    {
        _pending = _replay.ToString() + _pending[_pendingAt..];
        _pendingAt = 0;
        _line = line;
        _replay.Clear();
    }

    private int Next() => _pendingAt < _pending.Length ? _pending[_pendingAt++] : reader.Read();

    // Lines read again come before whatever the reader still holds, so peeking looks at them first.
    private int Peek() => _pendingAt < _pending.Length ? _pending[_pendingAt] : reader.Peek();
}
