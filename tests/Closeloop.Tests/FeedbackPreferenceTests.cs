using System.Net;
using Closeloop.Customers;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>Preferences a customer states in a survey comment become preference notes on the customer.</summary>
public sealed class FeedbackPreferenceTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory]
    [InlineData("Terrible. Please only contact me by email, never call me before 6pm. I am cancelling!", "Please only contact me by email, never call me before 6pm.")]
    [InlineData("Agent was nice.\nCall me after 5pm please", "Call me after 5pm please")]
    [InlineData("I am hard of hearing, so the IVR is useless to me.", "I am hard of hearing, so the IVR is useless to me.")]
    [InlineData("Fine. I speak Spanish. Thanks", "I speak Spanish.")]
    [InlineData("Please do not call me.", "Please do not call me.")]
    [InlineData("You can reach me at 555 0100 during the day.", "You can reach me at 555 0100 during the day.")]
    public void ASentenceThatStatesAPreferenceIsFound(string comment, string sentence) => Assert.Equal([sentence], FeedbackPreferences.Find(comment));

    [Theory]
    [InlineData("He said he will call me on Monday and never called me.")]
    [InlineData("They did not contact me via email as promised.")]
    [InlineData("I speak to your agents every week and nothing changes.")]
    [InlineData("I had to opt in to let three companies contact me at any time.")]
    [InlineData("Great service, thank you!")]
    [InlineData("")]
    public void AStoryOrAComplaintIsNot(string comment) => Assert.Empty(FeedbackPreferences.Find(comment));

    [Theory, MemberData(nameof(Providers))]
    public async Task APreferenceInACommentBecomesAPreferenceNoteOnceAtTheResponsesSite(string provider)
    {
        var app = TestApp.Shared(provider);
        using var admin = app.Admin();
        var customer = Unique.Id("pref");
        var response = Unique.Id("r");
        var body = Json.Response(response, customer, "csat", 1, "Terrible. Please only contact me by email, never call me before 6pm. I am cancelling!", site: "north");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/responses", body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/v1/responses", body)).StatusCode);
        await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), customer, "csat", 2, "He said he would call me on Monday and never did.", site: "north"));

        var note = Assert.Single((await (await admin.GetAsync($"/api/v1/customers/{customer}/notes")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal("preference", note.GetProperty("kind").GetString());
        Assert.Equal("Please only contact me by email, never call me before 6pm.", note.GetProperty("text").GetString());
        Assert.Equal($"feedback:{response}", note.GetProperty("createdBy").GetString());
        // Written at the response's site: that site's agents see it, another site's do not.
        using var north = app.Client(await app.CreateKeyAsync("agent", "north"));
        Assert.Single((await (await north.GetAsync($"/api/v1/customers/{customer}/preferences")).ReadJsonAsync()).GetProperty("notes").EnumerateArray());
    }
}
