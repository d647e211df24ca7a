using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Closeloop.Tests.Infrastructure;

public static class Json
{
    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text.Length == 0 ? "null" : text).RootElement.Clone();
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object body) => client.PostAsJsonAsync(url, body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string url, string body, string contentType = "application/json") =>
        client.PostAsync(url, new StringContent(body, Encoding.UTF8, contentType));

    public static object Contact(string externalId, string customer, string channel = "phone", DateTimeOffset? at = null, string? site = null,
        string? team = null, string? agent = null, string? reason = null, bool? resolved = null, string? summary = null, string? email = null) => new
        {
            externalId,
            customer = new { externalId = customer, email },
            channel,
            occurredAt = (at ?? DateTimeOffset.Parse("2026-11-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToString("O"),
            site,
            team,
            agent,
            reason,
            resolved,
            summary,
        };

    public static object Response(string externalId, string customer, string metric, int score, string? comment = null, DateTimeOffset? at = null,
        string? contact = null, string? site = null, string? team = null, string? agent = null, string? channel = "phone") => new
        {
            externalId,
            customer = new { externalId = customer },
            metric,
            score,
            comment,
            respondedAt = (at ?? DateTimeOffset.Parse("2026-11-02T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture)).ToString("O"),
            contactExternalId = contact,
            site,
            team,
            agent,
            channel = contact is null ? channel : null,
        };
}
