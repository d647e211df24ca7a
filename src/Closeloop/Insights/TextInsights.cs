using Closeloop.Data;
using Closeloop.Ingest;
using Closeloop.Text;
using Microsoft.EntityFrameworkCore;

namespace Closeloop.Insights;

/// <summary>
/// Sentiment, signals and root cause of what a customer wrote, computed in the request thread before the record
/// is queued, so the single writer only writes. One classifier serves the process; it starts from the keyword
/// rules of the taxonomy and learns from every labelled example, including the causes supervisors confirm.
/// </summary>
public sealed class TextInsights : IDisposable
{
    private readonly RootCauseClassifier _classifier = new(DefaultTaxonomy.Causes);
    private readonly TextAnalyzer _analyzer;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _lastExampleId;

    public TextInsights() => _analyzer = new TextAnalyzer(_classifier);

    public RootCauseClassifier Classifier => _classifier;

    public TextFindings? Analyze(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var analysis = _analyzer.Analyze(text);
        return new TextFindings(analysis.Sentiment.Compound, analysis.Signals, analysis.RootCause?.Code, analysis.RootCause?.Confidence);
    }

    /// <summary>
    /// <see cref="Analyze"/> for what a customer wrote in a survey, with the sentences that state a preference, which
    /// the ingest writer keeps as notes. A contact's summary, written by an agent, is not looked through.
    /// </summary>
    public TextFindings? AnalyzeComment(string? comment) =>
        Analyze(comment) is { } findings ? findings with { Preferences = Customers.FeedbackPreferences.Find(comment) } : null;

    /// <summary>Brings the classifier in line with the database: the taxonomy's causes and every stored example.</summary>
    public async Task LoadAsync(CloseloopDb db, CancellationToken ct)
    {
        await SyncTaxonomyAsync(db, ct);
        await CatchUpAsync(db, ct);
    }

    /// <summary>
    /// Learns the examples stored since the last look, whoever stored them: another process, or the CLI's
    /// `insights train` beside a running server.
    /// </summary>
    public async Task CatchUpAsync(CloseloopDb db, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var examples = await db.TrainingExamples.AsNoTracking().Where(e => e.Id > _lastExampleId).OrderBy(e => e.Id)
                .Select(e => new { e.Id, e.Text, e.Cause }).ToListAsync(ct);
            if (examples.Count == 0)
            {
                return;
            }
            Teach(examples.Select(e => (e.Text, e.Cause)).ToList());
            _lastExampleId = examples[^1].Id;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Teach(List<(string Text, string Cause)> examples)
    {
        if (examples.Count > 20)
        {
            _classifier.Train(examples);
        }
        else
        {
            foreach (var (text, cause) in examples)
            {
                _classifier.Learn(text, cause);
            }
        }
    }

    /// <summary>Causes added by admins join the classifier (without keywords, they are learned from examples).</summary>
    public async Task SyncTaxonomyAsync(CloseloopDb db, CancellationToken ct)
    {
        var codes = await db.RootCauses.AsNoTracking().Where(r => r.Parent != null).Select(r => r.Code).ToListAsync(ct);
        var keywords = DefaultTaxonomy.Causes.ToDictionary(c => c.Code, c => c.Keywords, StringComparer.Ordinal);
        _classifier.SetTaxonomy(codes.Select(code => new CauseDefinition(code, keywords.GetValueOrDefault(code) ?? [])));
    }

    /// <summary>
    /// Learns from examples at once and keeps them for the next start. Returns how many were new: an example already
    /// known with the same cause (a file imported twice, a request retried) is not learned again, because each copy
    /// would weigh that cause more against all the others.
    /// </summary>
    public async Task<int> LearnAsync(CloseloopDb db, IEnumerable<(string Text, string Cause)> examples, string source, DateTimeOffset now, CancellationToken ct)
    {
        var list = examples.Distinct().ToList();
        var texts = list.Select(e => e.Text).Distinct().ToList();
        var known = (await db.TrainingExamples.AsNoTracking().Where(e => texts.Contains(e.Text)).Select(e => new { e.Text, e.Cause }).ToListAsync(ct))
            .Select(e => (e.Text, e.Cause)).ToHashSet();
        var added = list.Where(e => !known.Contains(e)).ToList();
        if (added.Count > 0)
        {
            db.TrainingExamples.AddRange(added.Select(e => new TrainingExample { Text = e.Text, Cause = e.Cause, Source = source, CreatedAt = now }));
            await db.SaveChangesAsync(ct);
        }
        await CatchUpAsync(db, ct);
        return added.Count;
    }

    public void Dispose()
    {
        _classifier.Dispose();
        _gate.Dispose();
    }
}
