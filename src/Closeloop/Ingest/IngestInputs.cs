using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Closeloop.Contacts;
using Closeloop.Responses;

namespace Closeloop.Ingest;

public sealed record CustomerInput(string ExternalId, string? Name, string? Email, string? Phone, string? Handle);

public sealed record ContactInput(
    string ExternalId,
    CustomerInput Customer,
    string Channel,
    DateTimeOffset OccurredAt,
    string? Site,
    string? Team,
    string? Agent,
    string? Queue,
    string? Reason,
    int? WaitSeconds,
    int? Transfers,
    bool? Resolved,
    string? Summary)
{
    /// <summary>What a retry must repeat exactly to count as the same record (and not a 409).</summary>
    public byte[] ContentHash() => IngestHash.Of(
        "contact", ExternalId, Customer.ExternalId, Customer.Name, Customer.Email, Customer.Phone, Customer.Handle, Channel,
        OccurredAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), Site, Team, Agent, Queue, Reason,
        WaitSeconds?.ToString(CultureInfo.InvariantCulture), Transfers?.ToString(CultureInfo.InvariantCulture),
        Resolved?.ToString(), Summary);
}

public sealed record ResponseInput(
    string ExternalId,
    CustomerInput Customer,
    string Metric,
    int Score,
    string? Comment,
    DateTimeOffset? RespondedAt,
    string? ContactExternalId,
    string? Site,
    string? Team,
    string? Agent,
    string? Channel)
{
    public byte[] ContentHash() => IngestHash.Of(
        "response", ExternalId, Customer.ExternalId, Customer.Name, Customer.Email, Customer.Phone, Customer.Handle, Metric,
        Score.ToString(CultureInfo.InvariantCulture), Comment, RespondedAt?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
        ContactExternalId, Site, Team, Agent, Channel);
}

internal static class IngestHash
{
    public static byte[] Of(params string?[] parts)
    {
        var builder = new StringBuilder();
        foreach (var part in parts)
        {
            // Length-prefixed, so ("ab","c") and ("a","bc") differ, and null differs from "".
            if (part is null)
            {
                builder.Append("-1:");
            }
            else
            {
                builder.Append(part.Length).Append(':').Append(part);
            }
        }
        return SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()));
    }
}

/// <summary>Field errors keyed by the JSON path of the field, as problem details report them.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            list = [];
            _errors[field] = list;
        }
        list.Add(message);
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>
/// Reads ingest records from JSON by hand rather than through model binding, so that every bad field,
/// including a wrong JSON type, is named in one 400 instead of the first one failing the whole body.
/// </summary>
public static class IngestParser
{
    public const int MaxIdLength = 200;
    public const int MaxShortText = 200;
    /// <summary>
    /// Long enough for the longest complaint narratives real customers write (the CFPB sample's longest is 21,928
    /// characters), short enough that a batch item stays well inside a 1 MB body.
    /// </summary>
    public const int MaxCommentLength = 100_000;
    public const int MaxSummaryLength = 200_000;

    public static ContactInput? ParseContact(JsonElement json, FieldErrors errors, string prefix = "")
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.Length == 0 ? "body" : prefix.TrimEnd('.'), "must be a JSON object");
            return null;
        }
        var r = new Reader(json, errors, prefix);
        var externalId = r.RequiredId("externalId");
        var customer = ParseCustomer(json, errors, prefix);
        var channelText = r.RequiredString("channel", MaxShortText);
        var channel = channelText is null ? null : Channels.Normalize(channelText);
        if (channelText is not null && channel is null)
        {
            errors.Add(Field(prefix, "channel"), $"must be one of {string.Join(", ", Channels.All)}");
        }
        var occurredAt = r.RequiredInstant("occurredAt");
        var site = r.OptionalCode("site");
        var team = r.OptionalCode("team");
        var agent = r.OptionalCode("agent");
        var queue = r.OptionalString("queue", MaxShortText);
        var reason = r.OptionalString("reason", MaxShortText);
        var wait = r.OptionalInt("waitSeconds", 0, 7 * 24 * 3600);
        var transfers = r.OptionalInt("transfers", 0, 1000);
        var resolved = r.OptionalBool("resolved");
        var summary = r.OptionalString("summary", MaxSummaryLength);
        if (r.Failed || externalId is null || customer is null || channel is null || occurredAt is null)
        {
            return null;
        }
        return new ContactInput(externalId, customer, channel, occurredAt.Value, site, team, agent, queue, reason, wait, transfers, resolved, summary);
    }

    public static ResponseInput? ParseResponse(JsonElement json, FieldErrors errors, string prefix = "")
    {
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.Length == 0 ? "body" : prefix.TrimEnd('.'), "must be a JSON object");
            return null;
        }
        var r = new Reader(json, errors, prefix);
        var externalId = r.RequiredId("externalId");
        var customer = ParseCustomer(json, errors, prefix);
        var metricText = r.RequiredString("metric", 10);
        var metric = metricText?.Trim().ToLowerInvariant();
        if (metric is not null && !MetricScales.IsKnown(metric))
        {
            errors.Add(Field(prefix, "metric"), "must be one of csat, nps, ces");
            metric = null;
        }
        var score = r.RequiredInt("score");
        if (metric is not null && score is not null)
        {
            var (min, max) = MetricScales.Scale(metric);
            if (score < min || score > max)
            {
                errors.Add(Field(prefix, "score"), $"must be between {min} and {max} for {metric}");
            }
        }
        var comment = r.OptionalString("comment", MaxCommentLength);
        var respondedAt = r.OptionalInstant("respondedAt");
        var contactExternalId = r.OptionalString("contactExternalId", MaxIdLength);
        var site = r.OptionalCode("site");
        var team = r.OptionalCode("team");
        var agent = r.OptionalCode("agent");
        var channelText = r.OptionalString("channel", MaxShortText);
        var channel = channelText is null ? null : Channels.Normalize(channelText);
        if (channelText is not null && channel is null)
        {
            errors.Add(Field(prefix, "channel"), $"must be one of {string.Join(", ", Channels.All)}");
        }
        else if (channelText is null && contactExternalId is null)
        {
            errors.Add(Field(prefix, "channel"), "is required unless contactExternalId is given");
        }
        if (r.Failed || externalId is null || customer is null || metric is null || score is null)
        {
            return null;
        }
        return new ResponseInput(externalId, customer, metric, score.Value, comment, respondedAt, contactExternalId, site, team, agent, channel);
    }

    private static CustomerInput? ParseCustomer(JsonElement json, FieldErrors errors, string prefix)
    {
        if (!json.TryGetProperty("customer", out var customer) || customer.ValueKind == JsonValueKind.Null)
        {
            errors.Add(Field(prefix, "customer"), "is required");
            return null;
        }
        if (customer.ValueKind != JsonValueKind.Object)
        {
            errors.Add(Field(prefix, "customer"), "must be an object with externalId");
            return null;
        }
        var r = new Reader(customer, errors, Field(prefix, "customer") + ".");
        var externalId = r.RequiredId("externalId");
        var name = r.OptionalString("name", MaxShortText);
        var email = r.OptionalString("email", 320);
        if (email is not null && !IsDeliverableAddress(email))
        {
            errors.Add(Field(prefix, "customer.email"), "must be an e-mail address");
        }
        var phone = r.OptionalString("phone", 40);
        var handle = r.OptionalString("handle", MaxShortText);
        return r.Failed || externalId is null ? null : new CustomerInput(externalId, name, email?.ToLowerInvariant(), phone, handle);
    }

    internal static string Field(string prefix, string name) => prefix + name;

    /// <summary>
    /// An address the mail sender can use: the outbox hands it to System.Net.Mail, which throws on what it cannot
    /// parse ("jane,doe@example.com"), so such an address would be accepted here and fail every delivery later.
    /// A bare address only (no display name), with a dot in the domain, as a customer's address has.
    /// </summary>
    public static bool IsDeliverableAddress(string email) =>
        System.Net.Mail.MailAddress.TryCreate(email, out var parsed)
        && string.Equals(parsed.Address, email, StringComparison.OrdinalIgnoreCase)
        && parsed.Host.Contains('.', StringComparison.Ordinal) && !parsed.Host.EndsWith('.')
        && !parsed.User.Contains("..", StringComparison.Ordinal) && !parsed.User.StartsWith('.') && !parsed.User.EndsWith('.')
        && !email.Any(c => char.IsWhiteSpace(c) || c is '"' or '<' or '>' or ',' or ';' or '(' or ')' or '[' or ']' or '\\');


    private sealed class Reader(JsonElement json, FieldErrors errors, string prefix)
    {
        public bool Failed { get; private set; }

        private void Fail(string name, string message)
        {
            Failed = true;
            errors.Add(prefix + name, message);
        }

        private bool TryGet(string name, out JsonElement value)
        {
            if (json.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
            {
                return true;
            }
            return false;
        }

        public string? RequiredString(string name, int maxLength)
        {
            if (!TryGet(name, out _))
            {
                Fail(name, "is required");
                return null;
            }
            var failed = Failed;
            Failed = false;
            var s = OptionalString(name, maxLength);
            if (s is null && !Failed)
            {
                // Present but empty or blank: as good as absent.
                Fail(name, "is required");
            }
            Failed |= failed;
            return s;
        }

        /// <summary>
        /// An external id. It appears in URLs (<c>/api/v1/contacts/{externalId}</c>), where "." and ".." are path
        /// segments that every HTTP stack collapses, so a record with one could never be read back.
        /// </summary>
        public string? RequiredId(string name)
        {
            var s = RequiredString(name, MaxIdLength);
            if (s is "." or "..")
            {
                Fail(name, "must not be \".\" or \"..\"");
                return null;
            }
            return s;
        }

        /// <summary>
        /// The string value, or null when it is not valid Unicode: JSON escapes may encode half a surrogate pair
        /// (<c>"\udc00"</c>) and a body may carry bytes that are not UTF-8 (a Latin-1 export), and reading either
        /// throws. That is bad input to name, not a server error.
        /// </summary>
        private string? Text(string name, JsonElement value)
        {
            try
            {
                return value.GetString();
            }
            catch (InvalidOperationException)
            {
                Fail(name, "must be valid Unicode text in UTF-8");
                return null;
            }
        }

        public string? OptionalString(string name, int maxLength)
        {
            if (!TryGet(name, out var value))
            {
                return null;
            }
            if (value.ValueKind != JsonValueKind.String)
            {
                Fail(name, "must be a string");
                return null;
            }
            if (Text(name, value) is not { } s)
            {
                return null;
            }
            s = s.Trim();
            if (s.Length == 0)
            {
                // An empty optional field is the same as an absent one; an empty required one is an error.
                return null;
            }
            if (s.Length > maxLength)
            {
                Fail(name, $"must be at most {maxLength:N0} characters");
                return null;
            }
            if (s.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
            {
                Fail(name, "must not contain control characters");
                return null;
            }
            return s;
        }

        /// <summary>Organisation codes are identifiers shared across systems, so they are compared case-insensitively.</summary>
        public string? OptionalCode(string name)
        {
            var s = OptionalString(name, 100);
            return s?.ToLowerInvariant();
        }

        public int? RequiredInt(string name)
        {
            if (!TryGet(name, out _))
            {
                Fail(name, "is required");
                return null;
            }
            return OptionalInt(name, int.MinValue, int.MaxValue);
        }

        public int? OptionalInt(string name, int min, int max)
        {
            if (!TryGet(name, out var value))
            {
                return null;
            }
            // 4.0 is a whole number too: some serialisers (Python's for a float, spreadsheets) write scores that way.
            int i;
            if (value.ValueKind != JsonValueKind.Number
                || !(value.TryGetInt32(out i) || (value.TryGetDouble(out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue && (i = (int)d) == d)))
            {
                Fail(name, "must be a whole number");
                return null;
            }
            if (i < min || i > max)
            {
                Fail(name, $"must be between {min} and {max}");
                return null;
            }
            return i;
        }

        public bool? OptionalBool(string name)
        {
            if (!TryGet(name, out var value))
            {
                return null;
            }
            if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                return value.GetBoolean();
            }
            Fail(name, "must be true or false");
            return null;
        }

        public DateTimeOffset? RequiredInstant(string name)
        {
            if (!TryGet(name, out _))
            {
                Fail(name, "is required");
                return null;
            }
            return OptionalInstant(name);
        }

        public DateTimeOffset? OptionalInstant(string name)
        {
            if (!TryGet(name, out var value))
            {
                return null;
            }
            string? text = null;
            if (value.ValueKind == JsonValueKind.String && (text = Text(name, value)) is null)
            {
                return null;
            }
            if (Web.IsoTime.TryParse(text, out var instant) && instant.Year is >= 1970 and <= 9999)
            {
                // Millisecond precision is what is stored, so a retry compares equal to what was kept.
                return DateTimeOffset.FromUnixTimeMilliseconds(instant.ToUnixTimeMilliseconds());
            }
            Fail(name, "must be an ISO 8601 date and time, for example 2026-11-02T14:30:00Z");
            return null;
        }
    }
}
