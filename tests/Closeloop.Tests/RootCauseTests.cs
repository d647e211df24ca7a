using System.Net;
using System.Text.Json;
using Closeloop.Tests.Infrastructure;

namespace Closeloop.Tests;

/// <summary>The taxonomy through its API: two levels, always, and no cause deleted from under the records that carry it.</summary>
public sealed class RootCauseTests
{
    public static TheoryData<string> Providers => TestDatabases.All;

    [Theory, MemberData(nameof(Providers))]
    public async Task TheTaxonomyStaysTwoLevelsAndACategoryCanMoveBackToTheTop(string provider)
    {
        await using var app = new TestApp(provider);
        using var admin = app.Admin();
        async Task<JsonElement> Cause(string code) =>
            (await (await admin.GetAsync("/api/v1/root-causes")).ReadJsonAsync()).EnumerateArray().Single(c => c.GetProperty("code").GetString() == code);

        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/root-causes", new { code = "courier", name = "Courier", department = "Logistics" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/root-causes", new { code = "courier.lost", name = "Lost parcel", department = "Logistics", parent = "courier" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/root-causes", new { code = "parcels", name = "Parcels", department = "Logistics" })).StatusCode);

        // A category with causes under it cannot go under another: that would be a third level.
        var third = await admin.PutAsync("/api/v1/root-causes/courier", System.Net.Http.Json.JsonContent.Create(new { name = "Courier", department = "Logistics", parent = "parcels" }));
        Assert.Equal(HttpStatusCode.BadRequest, third.StatusCode);
        Assert.True((await third.ReadJsonAsync()).GetProperty("errors").TryGetProperty("parent", out _));

        // One answer names every bad field: those of the wrong type and those with a wrong value alike.
        var mixed = await admin.PostAsync("/api/v1/root-causes", new StringContent("""{"code": "Not A Code!", "name": 7, "parent": "nowhere"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, mixed.StatusCode);
        Assert.Equal(["code", "department", "name", "parent"], (await mixed.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        var mixedPut = await admin.PutAsync("/api/v1/root-causes/courier", new StringContent("""{"name": ["x"], "parent": "nowhere"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, mixedPut.StatusCode);
        Assert.Equal(["name", "parent"], (await mixedPut.ReadJsonAsync()).GetProperty("errors").EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));

        // A cause moves under a category, a rename leaves it there, and "parent": null brings it back to the top.
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/v1/root-causes/parcels", System.Net.Http.Json.JsonContent.Create(new { parent = "courier" }))).StatusCode);
        Assert.Equal("courier", (await Cause("parcels")).GetProperty("parent").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/v1/root-causes/parcels", System.Net.Http.Json.JsonContent.Create(new { name = "Parcels (all)" }))).StatusCode);
        Assert.Equal("courier", (await Cause("parcels")).GetProperty("parent").GetString());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/api/v1/root-causes/parcels",
            new StringContent("""{"parent": null}""", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await Cause("parcels")).GetProperty("parent").ValueKind);
        Assert.Equal("Parcels (all)", (await Cause("parcels")).GetProperty("name").GetString());
    }

    [Theory, MemberData(nameof(Providers))]
    public async Task ACauseThatRecordsCarryCannotBeDeleted(string provider)
    {
        await using var app = new TestApp(provider);
        using var admin = app.Admin();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/root-causes", new { code = "product.zorblax", name = "Zorblax flicker", department = "Product", parent = "product" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/api/v1/root-causes", new { code = "product.unused", name = "Never seen", department = "Product", parent = "product" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/v1/insights/examples", new[]
        {
            new { text = "my zorblax widget is flickering again", cause = "product.zorblax" },
            new { text = "zorblax widget flickering and broken", cause = "product.zorblax" },
            new { text = "the zorblax keeps flickering", cause = "product.zorblax" },
            new { text = "widget flickering, zorblax faulty", cause = "product.zorblax" },
        })).StatusCode);
        var response = await (await admin.PostJsonAsync("/api/v1/responses", Json.Response(Unique.Id("r"), Unique.Id("cust"), "csat", 2, "The zorblax widget is flickering again", site: "north"))).ReadJsonAsync();
        Assert.Equal("product.zorblax", response.GetProperty("analysis").GetProperty("rootCause").GetProperty("code").GetString());

        Assert.Equal(HttpStatusCode.Conflict, (await admin.DeleteAsync("/api/v1/root-causes/product.zorblax")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/v1/root-causes/product.unused")).StatusCode);
        var pareto = await (await admin.GetAsync("/api/v1/insights/pareto?by=site")).ReadJsonAsync();
        Assert.DoesNotContain("\"name\":null", pareto.GetRawText(), StringComparison.Ordinal);
    }
}
