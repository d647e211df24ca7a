using Closeloop.Customers;
using Closeloop.Data;
using Closeloop.Security;
using Closeloop.Web;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Customers;

public sealed record CustomerRow(string ExternalId, string? Name, string? Email, string? Phone, string? Tier, DateTimeOffset UpdatedAt);

public sealed class IndexModel(CloseloopDb db) : PageModel
{
    [BindProperty(SupportsGet = true)]
    public string? Q { get; set; }

    public List<CustomerRow> Customers { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return NotFound();
        }
        Customers = await Matching().OrderByDescending(c => c.UpdatedAt).Take(100)
            .Select(c => new CustomerRow(c.ExternalId, c.Name, c.Email, c.Phone, c.Tier, c.UpdatedAt)).ToListAsync(ct);
        return Page();
    }

    /// <summary>Every customer the search finds (not only the first 100), streamed as CSV.</summary>
    public async Task<IActionResult> OnGetCsvAsync(CancellationToken ct)
    {
        if (!User.ReadsRecords())
        {
            return NotFound();
        }
        var rows = Matching().OrderByDescending(c => c.UpdatedAt).Select(c => new CustomerRow(c.ExternalId, c.Name, c.Email, c.Phone, c.Tier, c.UpdatedAt))
            .AsAsyncEnumerable().Select(c => new object?[] { c.ExternalId, c.Name, c.Email, c.Phone, c.Tier, c.UpdatedAt });
        await CsvExport.WriteAsync(Response, "closeloop-customers.csv", ["external_id", "name", "email", "phone", "tier", "last_activity"], rows, ct);
        return new EmptyResult();
    }

    private IQueryable<Customer> Matching()
    {
        var query = CustomerEndpoints.Visible(db, CallerScope.From(User));
        if (!string.IsNullOrWhiteSpace(Q))
        {
            var term = Q.Trim().ToLowerInvariant();
            query = query.Where(c => c.ExternalId.ToLower().Contains(term) || (c.Name != null && c.Name.ToLower().Contains(term))
                || (c.Email != null && c.Email.Contains(term)) || (c.Phone != null && c.Phone.Contains(term)));
        }
        return query;
    }
}
