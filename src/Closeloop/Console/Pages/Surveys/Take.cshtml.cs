using System.Globalization;
using System.Text.Json;
using Closeloop.Data;
using Closeloop.Surveys;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.WebConsole.Pages.Surveys;

/// <summary>
/// The public survey page: anonymous, single-use, and showing nothing but the survey. Opening it marks the invitation
/// opened and never records an answer: a rating chosen in an e-mail (?score=) is only pre-filled, because mail
/// scanners follow links, and counts once the customer sends the form.
/// </summary>
[AllowAnonymous]
[EnableRateLimiting(PublicSurveyEndpoints.RateLimit)]
public sealed class TakeModel(CloseloopDb db, TimeProvider time) : PageModel
{
    public string? RefusalTitle { get; private set; }

    public string? RefusalText { get; private set; }

    public string Title { get; private set; } = "Survey";

    /// <summary>What the page script needs, as JSON; Razor attribute-encodes it, so it never leaves its attribute.</summary>
    public string Config { get; private set; } = "{}";

    public async Task<IActionResult> OnGetAsync(string token, string? score, CancellationToken ct)
    {
        PublicSurveyEndpoints.NoStore(Response);
        // The policy of every page (Web/SecurityHeaders) holds here too: scripts only from this site, so whatever a survey
        // or an answer holds cannot bring in or run other code.
        var invitation = token.Length is > 0 and <= 100
            ? await db.SurveyInvitations.AsNoTracking().FirstOrDefaultAsync(i => i.Token == token, ct)
            : null;
        if (invitation is null)
        {
            return Refuse(StatusCodes.Status404NotFound, "Survey not found", "This survey link is not valid. Please check that you copied the whole link.");
        }
        switch (invitation.StateAt(time.GetUtcNow()))
        {
            case InvitationState.Answered:
                return Refuse(StatusCodes.Status410Gone, "Already answered", "This survey has already been answered. Thank you for your feedback!");
            case InvitationState.Expired:
                return Refuse(StatusCodes.Status410Gone, "Survey closed", "This survey has closed. Thank you all the same!");
        }
        if (invitation.OpenedAt is null)
        {
            var now = time.GetUtcNow();
            await db.SurveyInvitations.Where(i => i.Id == invitation.Id && i.OpenedAt == null).ExecuteUpdateAsync(u => u.SetProperty(i => i.OpenedAt, now), ct);
        }
        var survey = await ResolvedSurvey.ForAsync(db, invitation.SurveyId, invitation.Metric, ct);
        Dictionary<string, int>? prefill = null;
        if (int.TryParse(score, NumberStyles.Integer, CultureInfo.InvariantCulture, out var preselected) && preselected >= survey.Shape.Min && preselected <= survey.Shape.Max)
        {
            prefill = new Dictionary<string, int>(StringComparer.Ordinal) { [survey.Shape.ScoreQuestion] = preselected };
        }
        using var definition = JsonDocument.Parse(survey.Definition);
        if (definition.RootElement.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
        {
            Title = title.GetString()!;
        }
        Config = JsonSerializer.Serialize(new { answerUrl = $"/s/{Uri.EscapeDataString(token)}/answers", prefill, survey = definition.RootElement });
        return Page();
    }

    private PageResult Refuse(int status, string title, string text)
    {
        Response.StatusCode = status;
        RefusalTitle = title;
        RefusalText = text;
        Title = title;
        return Page();
    }
}
