using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Closeloop.Alerts;
using Closeloop.Customers;
using Closeloop.Data;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Surveys;

/// <summary>
/// Survey governance (PRODUCT.md, capability 6): a customer is not asked again within the fatigue window, nor while
/// an alert about them is open, nor at all when they are on do-not-contact or withdrew consent; and a queue may be
/// sampled. Follow-up surveys after a recovery are not invitations an integration asks for, so they are not held here.
/// </summary>
public static class SurveyFatigue
{
    public const string DoNotContact = "do_not_contact";
    public const string NoConsent = "no_consent";
    public const string OpenAlert = "open_alert";
    public const string RecentlySurveyed = "recently_surveyed";
    public const string NotSampled = "not_sampled";

    /// <summary>Why this customer must not be invited now, or null when they may be.</summary>
    public static async Task<string?> ReasonNotToInviteAsync(CloseloopDb db, IConfiguration configuration, Customer customer, string? contactExternalId,
        string? queue, DateTimeOffset now, CancellationToken ct)
    {
        if (customer.DoNotContact)
        {
            return DoNotContact;
        }
        if (!customer.Consent)
        {
            return NoConsent;
        }
        if (await db.Alerts.AnyAsync(a => a.CustomerId == customer.Id && AlertStatus.Active.Contains(a.Status), ct))
        {
            return OpenAlert;
        }
        var window = AlertRuleDefinition.TryDuration(configuration["Surveys:FatigueWindow"] ?? "P30D", out var w) ? w : TimeSpan.FromDays(30);
        if (window > TimeSpan.Zero)
        {
            var since = now - window;
            if (await db.SurveyInvitations.AnyAsync(i => i.CustomerId == customer.Id && i.CreatedAt > since, ct))
            {
                return RecentlySurveyed;
            }
        }
        if (queue is not null && contactExternalId is not null
            && double.TryParse(configuration[$"Surveys:Sampling:{queue}"], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate)
            && Draw(contactExternalId) >= rate)
        {
            return NotSampled;
        }
        return null;
    }

    /// <summary>A number in [0, 1) fixed by the contact, so a retried request gets the same answer.</summary>
    private static double Draw(string contactExternalId) =>
        BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(contactExternalId)), 0) / (uint.MaxValue + 1.0);

    public static string Explain(string reason) => reason switch
    {
        DoNotContact => "The customer is on do-not-contact.",
        NoConsent => "The customer has not consented to be contacted.",
        OpenAlert => "An alert about this customer is open: they are not surveyed until it is resolved.",
        RecentlySurveyed => "The customer was invited to a survey within the fatigue window (Surveys:FatigueWindow).",
        NotSampled => "The contact's queue is sampled and this contact was not drawn.",
        _ => reason,
    };
}
