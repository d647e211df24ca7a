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

    /// <summary>
    /// A customer is one person across sites, so a site-scoped caller (a vendor's agent, say) may fill in what the
    /// profile lacks and may make contact more careful, but may not replace what the company or another site recorded
    /// or lift a restriction: no renaming, no re-tiering (VIP rules fire on the tier), no consent given back and no
    /// do-not-contact cleared. Names each change refused; unchanged values pass.
    /// </summary>
    public Dictionary<string, string[]> ChangesRefusedToASite(string? name, string? tier, bool? consent, bool? doNotContact)
    {
        var refused = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (name is not null && Name is not null && name.Trim() != Name)
        {
            refused["name"] = ["a site-scoped caller may add a name the profile lacks but not replace one"];
        }
        if (tier is not null && Tier is not null && tier.Trim().ToLowerInvariant() != Tier)
        {
            refused["tier"] = ["a site-scoped caller may add a tier the profile lacks but not replace one"];
        }
        if (consent == true && !Consent)
        {
            refused["consent"] = ["a site-scoped caller may withdraw consent but not give it back; an unscoped user can"];
        }
        if (doNotContact == false && DoNotContact)
        {
            refused["doNotContact"] = ["a site-scoped caller may set do-not-contact but not clear it; an unscoped user can"];
        }
        return refused;
    }
}
