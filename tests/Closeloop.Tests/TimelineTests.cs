using System.Globalization;
using System.Net;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

public sealed class TimelineTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task TheTimelineJoinsEveryChannelNewestFirstAndPagesWithACursor(string provider)
    {
        using var client = TestApp.Shared(provider).Admin();
        var customer = Unique.Id("cust");
        var start = DateTimeOffset.Parse("2026-10-01T00:00:00Z", CultureInfo.InvariantCulture);
        var channels = new[] { "phone", "email", "chat", "sms", "social", "web_form", "ivr", "in_person" };
        var expected = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var contact = $"{customer}-c{i}";
            await client.PostJsonAsync("/api/v1/contacts", Json.Contact(contact, customer, channels[i], at: start.AddHours(i * 5)));
            expected.Add(contact);
            if (i % 2 == 0)
            {
                var response = $"{customer}-r{i}";
                await client.PostJsonAsync("/api/v1/responses", Json.Response(response, customer, "csat", 4, at: start.AddHours((i * 5) + 1), contact: contact));
                expected.Add(response);
            }
        }
        // Two records at the same instant must both appear exactly once across pages.
        await client.PostJsonAsync("/api/v1/responses", Json.Response($"{customer}-same", customer, "nps", 9, at: start.AddHours(5), channel: "email"));
        expected.Add($"{customer}-same");
        expected.Reverse();

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await (await client.GetAsync($"/api/v1/customers/{customer}/timeline?limit=4" + (cursor is null ? "" : $"&cursor={cursor}"))).ReadJsonAsync();
            foreach (var item in page.GetProperty("items").EnumerateArray())
            {
                var kind = item.GetProperty("kind").GetString()!;
                seen.Add(item.GetProperty(kind).GetProperty("externalId").GetString()!);
            }
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(13, seen.Count);
        Assert.Equal(seen.Distinct().Count(), seen.Count);
        Assert.Equal(expected.Order(), seen.Order());
        var times = new List<DateTimeOffset>();
        foreach (var id in seen)
        {
            // The customer id itself may contain "-c" (its random part can start with c), so look after it.
            var isContact = id.StartsWith($"{customer}-c", StringComparison.Ordinal);
            var body = await (await client.GetAsync(isContact ? $"/api/v1/contacts/{id}" : $"/api/v1/responses/{id}")).ReadJsonAsync();
            times.Add(body.GetProperty(isContact ? "occurredAt" : "respondedAt").GetDateTimeOffset());
        }
        Assert.Equal(times.OrderByDescending(t => t), times);
        Assert.Equal(4, pages);
    }

    [Fact]
    public async Task AnUnknownCustomerOrABadCursorIsAnswered()
    {
        using var client = TestApp.Shared(TestDatabases.Sqlite).Admin();
        var customer = Unique.Id("cust");
        await client.PostJsonAsync("/api/v1/contacts", Json.Contact(Unique.Id("c"), customer));

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/customers/nobody-at-all/timeline")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/customers/nobody-at-all")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/v1/customers/{customer}/timeline?cursor=%%%")).StatusCode);
    }
}
