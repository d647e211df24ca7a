using Closeloop.Alerts;
using Closeloop.Data;
using Closeloop.Security;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole;

/// <summary>The inbox's filters, read from the query string, so a filtered inbox is a link one can share.</summary>
public sealed record InboxFilter(string? Status, string? Site, string? Team, string? Owner, long? Rule, bool Mine)
{
    public string StatusOrDefault => string.IsNullOrWhiteSpace(Status) ? "active" : Status;

    public string QueryString()
    {
        var parts = new List<string>();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                parts.Add($"{name}={Uri.EscapeDataString(value)}");
            }
        }
        Add("status", Status);
        Add("site", Site);
        Add("team", Team);
        Add("owner", Owner);
        Add("rule", Rule?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("mine", Mine ? "true" : null);
        return string.Join('&', parts);
    }
}

public static class AlertInbox
{
    public const int PageSize = 200;

    /// <summary>The alerts a person may see (the API's rule), narrowed by the inbox filters.</summary>
    public static IQueryable<Alert> Query(CloseloopDb db, CallerScope scope, InboxFilter filter)
    {
        var query = AlertViews.Visible(db, scope);
        var status = filter.StatusOrDefault.ToLowerInvariant();
        if (status == "active")
        {
            query = query.Where(a => AlertStatus.Active.Contains(a.Status));
        }
        else if (status != "all")
        {
            query = query.Where(a => a.Status == status);
        }
        if (!string.IsNullOrWhiteSpace(filter.Site))
        {
            var code = filter.Site.ToLowerInvariant();
            query = query.Where(a => db.Sites.Any(s => s.Id == a.SiteId && s.Code == code));
        }
        if (!string.IsNullOrWhiteSpace(filter.Team))
        {
            var code = filter.Team.ToLowerInvariant();
            query = query.Where(a => db.Teams.Any(t => t.Id == a.TeamId && t.Code == code));
        }
        var owner = filter.Mine ? scope.UserEmail : filter.Owner?.Trim().ToLowerInvariant();
        if (!string.IsNullOrEmpty(owner))
        {
            query = query.Where(a => a.Owner == owner);
        }
        if (filter.Rule is { } rule)
        {
            query = query.Where(a => a.RuleId == rule);
        }
        return query;
    }

    /// <summary>Steps a person may take on an alert in its current state (the state machine in <see cref="Alert"/>).</summary>
    public static IReadOnlyList<string> AllowedSteps(string status) => status switch
    {
        AlertStatus.Open => [ActionTypes.Acknowledge, ActionTypes.ContactAttempted, ActionTypes.CustomerReached, ActionTypes.CallbackScheduled, ActionTypes.GestureOffered,
            ActionTypes.GestureApproved, ActionTypes.WaitOnCustomer, ActionTypes.RootCauseTagged, ActionTypes.Note, ActionTypes.Reassign, ActionTypes.Resolve],
        AlertStatus.Acknowledged => [ActionTypes.ContactAttempted, ActionTypes.CustomerReached, ActionTypes.CallbackScheduled, ActionTypes.GestureOffered,
            ActionTypes.GestureApproved, ActionTypes.WaitOnCustomer, ActionTypes.RootCauseTagged, ActionTypes.Note, ActionTypes.Reassign, ActionTypes.Resolve],
        AlertStatus.WaitingOnCustomer => [ActionTypes.CustomerReached, ActionTypes.ContactAttempted, ActionTypes.CallbackScheduled, ActionTypes.GestureOffered,
            ActionTypes.GestureApproved, ActionTypes.RootCauseTagged, ActionTypes.Note, ActionTypes.Reassign, ActionTypes.Resolve],
        AlertStatus.Resolved => [ActionTypes.Close, ActionTypes.RootCauseTagged, ActionTypes.Note, ActionTypes.Reopen],
        AlertStatus.Closed => [ActionTypes.Reopen],
        _ => [],
    };

    public static string Label(string step) => step switch
    {
        ActionTypes.Acknowledge => "Acknowledge",
        ActionTypes.ContactAttempted => "Contact attempted",
        ActionTypes.CustomerReached => "Customer reached",
        ActionTypes.CallbackScheduled => "Schedule a callback",
        ActionTypes.GestureOffered => "Offer a gesture",
        ActionTypes.GestureApproved => "Approve the gesture",
        ActionTypes.WaitOnCustomer => "Wait on the customer",
        ActionTypes.RootCauseTagged => "Tag the root cause",
        ActionTypes.Note => "Add a note",
        ActionTypes.Reassign => "Reassign",
        ActionTypes.Resolve => "Resolve",
        ActionTypes.Close => "Close",
        ActionTypes.Reopen => "Reopen",
        _ => step.Replace('_', ' '),
    };

    public static bool CanWork(System.Security.Claims.ClaimsPrincipal user) => Roles.AlertWorkers.Any(user.IsInRole);
}
