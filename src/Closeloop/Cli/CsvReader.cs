using System.Text;

namespace Closeloop.Cli;

/// <summary>
/// A small RFC 4180 reader: quoted fields, doubled quotes, and line breaks inside quotes. It reports the
/// line each record starts on, which is what a person fixing a bad row needs.
/// </summary>
public sealed class CsvReader(TextReader reader)
{
    private int _line = 1;

    public int RecordLine { get; private set; }

    public char Delimiter { get; set; } = ',';

    /// <summary>Counts lines already consumed by the caller, so that reported line numbers stay right.</summary>
    public void SkipLines(int count) => _line += count;

    public List<string>? Read()
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var any = false;
        RecordLine = _line;
        while (true)
        {
            var c = reader.Read();
            if (c == -1)
            {
                if (!any && field.Length == 0 && fields.Count == 0)
                {
                    return null;
                }
                fields.Add(field.ToString());
                return fields;
            }
            any = true;
            var ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    if (ch == '\n')
                    {
                        _line++;
                    }
                    field.Append(ch);
                }
            }
            else if (ch == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (ch == Delimiter)
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (ch == '\r')
            {
                // CRLF or a lone CR ends the record the same way as LF.
                if (reader.Peek() == '\n')
                {
                    reader.Read();
                }
                _line++;
                fields.Add(field.ToString());
                return fields;
            }
            else if (ch == '\n')
            {
                _line++;
                fields.Add(field.ToString());
                return fields;
            }
            else
            {
                field.Append(ch);
            }
        }
    }
}
