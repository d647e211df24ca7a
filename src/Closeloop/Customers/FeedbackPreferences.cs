using System.Data.Common;
using System.Text.RegularExpressions;
using Closeloop.Ingest;

namespace Closeloop.Customers;

/// <summary>
/// Captures preferences from what customers write (PRODUCT.md: "preferences and notes, captured from feedback and by
/// agents"): a sentence of a survey comment that says how or when to reach them, how not to, or what an agent should
/// know to serve them ("only email me", "never call before 6pm", "I am hard of hearing") becomes a preference note on
/// the customer, shown to every later agent beside the ones agents write. The sentence is kept as written, not
/// interpreted: the preferred channel and callback window stay for a person to set, since a wrong guess there would
/// send the customer's messages astray.
/// </summary>
public static partial class FeedbackPreferences
{
    private const int MaxSentences = 3;
    private const int MaxSentenceLength = 300;

    /// <summary>The note's writer: the response it came from, so the note says where it was heard.</summary>
    public static string Writer(string responseExternalId) => $"feedback:{responseExternalId}";

    /// <summary>The sentences of <paramref name="comment"/> that state a preference, in order, at most three.</summary>
    public static IReadOnlyList<string> Find(string? comment)
    {
        if (string.IsNullOrWhiteSpace(comment) || !Cue().IsMatch(comment))
        {
            return [];
        }
        var found = new List<string>();
        foreach (var raw in SentenceBreak().Split(comment))
        {
            var sentence = raw.Trim();
            if (sentence.Length is > 0 and <= MaxSentenceLength && Cue().IsMatch(sentence))
            {
                found.Add(sentence);
                if (found.Count == MaxSentences)
                {
                    break;
                }
            }
        }
        return found;
    }

    // How to reach the customer, how not to, when, and what an agent needs to know about them. Each alternative needs
    // the customer to speak of themselves ("me", "my", "I") in the form of a request ("please", "only", "don't",
    // "prefer", an imperative at the start of a sentence), so a story such as "he said he would call me on Monday"
    // or "they never called me back" is a complaint, not a preference (measured on the CFPB narratives: README, "Notes and preferences").
    [GeneratedRegex("""
        \b(?:please\s+)?only\s+(?:ever\s+)?(?:contact|reach|call|phone|ring|e-?mail|text|sms|message|write\s+to)\s+me\b
        | \b(?:do\s*n[o']?t|do\s+not|never|please\s+stop|stop)\s+(?:ever\s+)?(?:contact|call|phon|ring|e-?mail|text|messag|writ)(?:e|ing)?\s+(?:to\s+)?me\b
        | \b(?:please|kindly|you\s+(?:can|may)|feel\s+free\s+to)\s+(?:only\s+)?(?:contact|reach|call|phone|ring|e-?mail|text|message)\s+me\s+(?:only\s+)?(?:by|via|on|at|after|before|between|in\s+the\s+(?:morning|afternoon|evening)|during)\b
        | (?:^|[.!?]\s+)(?:only\s+)?(?:contact|reach|call|phone|ring|e-?mail|text|message)\s+me\s+(?:only\s+)?(?:by|via|after|before|between|in\s+the\s+(?:morning|afternoon|evening))\b
        | \bI\s+(?:would\s+)?(?:much\s+)?prefer\s+(?:to\s+be\s+)?(?:contacted|called|reached|e-?mail|email|phone|text|sms|a\s+call|calls|written|letters?|chat)
        | \b(?:the\s+)?best\s+(?:time|way|number)\s+to\s+(?:reach|contact|call)\s+me\b
        | \bmy\s+preferred\s+(?:contact|channel|method|time|number|language)\b
        | \bI\s+(?:am|'m)\s+(?:hard\s+of\s+hearing|deaf|blind|visually\s+impaired|partially\s+sighted|disabled|in\s+a\s+wheelchair|a\s+wheelchair\s+user)\b
        | \bI\s+(?:only\s+)?speak\s+(?:only\s+)?(?-i:[A-Z][a-z]+)\b
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.Multiline)]
    private static partial Regex Cue();

    [GeneratedRegex(@"(?<=[.!?;])\s+|\r?\n+", RegexOptions.CultureInvariant)]
    private static partial Regex SentenceBreak();
}

/// <summary>
/// Writes the preference notes of each new response in the ingest transaction, so a retried response (not new) adds
/// none and a crash loses none that was acknowledged.
/// </summary>
public sealed class FeedbackPreferenceCapture : IIngestObserver
{
    public async Task BeforeCommitAsync(DbConnection connection, DbTransaction transaction, IngestBatch batch, CancellationToken cancellationToken)
    {
        foreach (var response in batch.Responses)
        {
            foreach (var sentence in response.Findings?.Preferences ?? [])
            {
                var insert = batch.Statement("customers.feedback-preference",
                    "INSERT INTO customer_notes (customer_id, kind, text, site_id, created_by, created_at) VALUES (@c, @k, @t, @s, @by, @at)",
                    "@c", "@k", "@t", "@s", "@by", "@at");
                // The note belongs to the site the response was about, like a note its agents would write.
                insert.Set(response.CustomerId, NoteKinds.Preference, sentence, response.SiteId, FeedbackPreferences.Writer(response.Input.ExternalId),
                    batch.NowMs.ToUnixTimeMilliseconds());
                await insert.ExecuteAsync(cancellationToken);
            }
        }
    }

    public void AfterCommit(IngestBatch batch)
    {
    }
}
