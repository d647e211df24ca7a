namespace Closeloop.Customers;

/// <summary>A customer as the company's CRM knows them, with a contact point per channel.</summary>
public sealed class Customer
{
    public long Id { get; set; }
    public required string ExternalId { get; set; }
    public string? Name { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Handle { get; set; }
    public string? PreferredChannel { get; set; }
    public string? Tier { get; set; }
    public bool Consent { get; set; } = true;
    public bool DoNotContact { get; set; }

    /// <summary>When the customer likes to be called back, "HH:mm-HH:mm" in the site's time zone.</summary>
    public string? CallbackWindow { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
