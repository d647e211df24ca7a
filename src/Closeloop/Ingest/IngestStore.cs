using System.Data.Common;
using System.Globalization;
using System.Runtime.InteropServices;
using Closeloop.Data;
using Closeloop.Responses;

namespace Closeloop.Ingest;

/// <summary>
/// Writes ingested contacts and responses with prepared statements on one connection, many records per
/// transaction. This is the hot path of the product, so it bypasses EF Core change tracking (ADR 002):
/// everything else reads and writes through the DbContext.
/// </summary>
public sealed class IngestStore : IAsyncDisposable
{
    private readonly Db _db;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<IIngestObserver> _observers;
    // In milliseconds, as issues keep their times (Unix milliseconds).
    private readonly long _repeatWindowMs;
    private DbConnection? _connection;
    private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WriterStatement> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<(char Kind, string Code), (long Id, long SiteId)> _orgs = new();
    private const int MaxCachedCustomers = 200_000;
    private readonly Dictionary<string, CachedCustomer> _customers = new(StringComparer.Ordinal);
    private long _dataVersion = -1;

    /// <summary>The PostgreSQL advisory lock that contact writes take (an arbitrary constant: "CLCONTAC" in ASCII).</summary>
    private const long ContactWriterLock = 0x434C434F4E544143;

    public IngestStore(Db db, TimeProvider time, IEnumerable<IIngestObserver> observers, IngestOptions options)
    {
        _db = db;
        _time = time;
        _observers = observers.ToList();
        _repeatWindowMs = (long)options.RepeatWindow.TotalMilliseconds;
    }

    /// <summary>Writes the jobs in one transaction and returns an outcome per item, in order.</summary>
    public async Task<IngestOutcome[][]> WriteAsync(IReadOnlyList<IReadOnlyList<IngestItem>> jobs, IReadOnlyList<WriteScope> scopes, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken);
        var batch = new IngestBatch(_time.GetUtcNow(), Command, Statement);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            foreach (var command in _commands.Values)
            {
                command.Transaction = transaction;
            }
            foreach (var statement in _statements.Values)
            {
                statement.Transaction = transaction;
            }
            if (_db.IsSqlite)
            {
                // The customer cache holds what this writer committed. Another connection's commit (the CLI importing
                // beside the server, a second process, a PATCH of a profile) may have changed a profile since, and a
                // newer record naming the old details would then be skipped as "no change": SQLite's data_version
                // moves with every commit of another connection, and the cache is dropped when it does.
                var version = Statement("data_version", "PRAGMA data_version");
                version.Set();
                long seen;
                using (var row = await version.ReadFirstAsync(cancellationToken))
                {
                    seen = row.Int64(0);
                }
                if (seen != _dataVersion)
                {
                    _customers.Clear();
                    _dataVersion = seen;
                }
            }
            if (!_db.IsSqlite && jobs.Any(items => items.Any(item => item is ContactItem)))
            {
                // Several processes may write to one PostgreSQL database. Two that each take a contact of the same
                // known customer and reason would both find no open issue and open one each, splitting the issue and
                // overstating FCR. Contacts are written one process at a time, as SQLite's single writer does by
                // itself. The lock is the transaction's first: holding no row lock while waiting for it, a writer
                // cannot be part of a deadlock through it.
                await using var serialise = connection.CreateCommand();
                serialise.Transaction = transaction;
                serialise.CommandText = $"SELECT pg_advisory_xact_lock({ContactWriterLock})";
                await serialise.ExecuteNonQueryAsync(cancellationToken);
                await ReadCommitContactsAsync(jobs, batch, cancellationToken);
                await DrawContactIdsAsync(batch, jobs.Sum(items => items.Count(item => item is ContactItem)), cancellationToken);
            }
            if (!_db.IsSqlite)
            {
                await ReadCommitCustomersAsync(jobs, batch, cancellationToken);
                await ReadCommitIssuesAsync(jobs, batch, cancellationToken);
            }
            var results = new IngestOutcome[jobs.Count][];
            batch.Transaction = transaction;
            batch.Results = results;
            for (var j = 0; j < jobs.Count; j++)
            {
                var items = jobs[j];
                var outcomes = new IngestOutcome[items.Count];
                // Set before the job's records are written: sending the waiting inserts part-way (FlushAsync) puts
                // the outcomes of the job's earlier responses in their places.
                results[j] = outcomes;
                for (var i = 0; i < items.Count; i++)
                {
                    outcomes[i] = items[i] switch
                    {
                        ContactItem c => await WriteContactAsync(c, scopes[j], batch, cancellationToken),
                        ResponseItem r => await WriteResponseAsync(r, scopes[j], batch, (j, i), cancellationToken),
                        _ => throw new InvalidOperationException("Unknown ingest item."),
                    };
                }
            }
            await InsertPendingAsync(batch, transaction, results, cancellationToken);
            if (batch.ProfileTimes.Count > 0)
            {
                // Times only move forward: another process may have confirmed a profile later still.
                await ExecuteEachAsync("customer.profile-time", transaction,
                    "UPDATE customers SET profile_at = @at WHERE id = @id AND (profile_at IS NULL OR profile_at < @at)", ["@id", "@at"], 1,
                    batch.ProfileTimes.Select(time => new object?[] { time.Key, time.Value }), cancellationToken);
            }
            await FlushRollupsAsync(batch, transaction, cancellationToken);
            foreach (var observer in _observers)
            {
                await observer.BeforeCommitAsync(connection, transaction, batch, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            foreach (var (key, value) in batch.NewOrgs)
            {
                _orgs[key] = value;
            }
            if (_customers.Count > MaxCachedCustomers)
            {
                _customers.Clear();
            }
            foreach (var (key, value) in batch.NewCustomers)
            {
                _customers[key] = value;
            }
            foreach (var observer in _observers)
            {
                observer.AfterCommit(batch);
            }
            foreach (var action in batch.AfterCommitActions)
            {
                action();
            }
            return results;
        }
        catch
        {
            await SafeRollbackAsync(transaction);
            // A failed transaction may leave the connection unusable (PostgreSQL aborts it); start over next time.
            await ResetAsync();
            throw;
        }
    }

    private static async Task SafeRollbackAsync(DbTransaction transaction)
    {
        try
        {
            await transaction.RollbackAsync(CancellationToken.None);
        }
        catch (Exception)
        {
            // The connection may already be gone; the transaction then never committed.
        }
    }

    private async Task<IngestOutcome> WriteContactAsync(ContactItem item, WriteScope scope, IngestBatch batch, CancellationToken ct)
    {
        var input = item.Input;
        var siteCode = input.Site ?? scope.SiteCode;
        if (scope.SiteCode is not null && siteCode != scope.SiteCode)
        {
            return OtherSite(scope);
        }

        // On PostgreSQL the commit's contacts were looked up together (ReadCommitContactsAsync).
        var existing = _db.IsSqlite ? await ExistingAsync("contacts", input.ExternalId, item.ContentHash, scope, ct)
            : batch.KnownContacts.TryGetValue(input.ExternalId, out var known) ? Existing(known.Id, known.Hash, known.SiteId, item.ContentHash, scope) : null;
        if (existing is not null)
        {
            return existing;
        }

        var (siteId, teamId, agentId, refused) = await ResolveOrgAsync(siteCode, input.Team, input.Agent, scope, batch, ct);
        if (refused is not null)
        {
            return OrgOfAnotherSite(refused);
        }
        var occurred = input.OccurredAt.ToUnixTimeMilliseconds();
        var customerId = await UpsertCustomerAsync(input.Customer, occurred, scope, batch, ct);

        long? issueId = null;
        long? repeatGapMs = null;
        var issueCount = 1;
        var issueFirstAt = occurred;
        // Reasons come from people and several systems: "Billing" and "billing" are one reason. Without a reason a
        // contact cannot be chained, so it is an issue of its own for FCR, stored like any other (no contact matches
        // an empty reason), so that the records behind the FCR figure list it too.
        var reasonKey = ReasonKey(input.Reason);
        if (input.Reason is not null)
        {
            var (before, after) = batch.Issues?.Around(customerId, reasonKey, occurred) ?? await IssuesAroundAsync(customerId, reasonKey, occurred, ct);
            if (after is not null && batch.WaitingIssues.Contains((customerId, reasonKey)))
            {
                // Going before an issue or bridging it reads and moves its contacts, and a contact of this customer
                // and reason was written earlier in the commit: its write is sent first.
                await FlushAsync(batch, ct);
            }
            if (before is { } joined)
            {
                issueId = joined.Id;
                if (joined.Count == 1 && joined.FirstResolved != false)
                {
                    // The first contact no longer counts as resolved: a repeat came within the window.
                    batch.AddIssue(joined.Cell, 0, -1);
                }
                repeatGapMs = Math.Max(0, occurred - joined.LastAt);
                issueCount = joined.Count + 1;
                issueFirstAt = joined.FirstAt;
            }
            if (issueId is null && after is { } next)
            {
                issueCount = await PrependToIssueAsync(next, input, customerId, occurred, siteId, teamId, agentId, batch, ct);
                issueId = next.Id;
                batch.Issues?.Update(customerId, reasonKey, next.Id, issue => issue with
                {
                    Count = issue.Count + 1, FirstAt = occurred, FirstResolved = input.Resolved,
                    Cell = new IssueCell(IngestBatch.DayOf(occurred), siteId, teamId, agentId, input.Channel),
                });
            }
            else if (issueId is not null)
            {
                const string join = "UPDATE issues SET contact_count = contact_count + 1, last_at = CASE WHEN last_at < @at THEN @at ELSE last_at END WHERE id = @id";
                if (after is null && !_db.IsSqlite)
                {
                    Wait(batch, new PendingWrite(join + " RETURNING id", ["@at", "@id"], [occurred, issueId.Value], false), customerId, reasonKey);
                }
                else
                {
                    var update = Statement("issue.update", join, "@at", "@id");
                    update.Set(occurred, issueId.Value);
                    await update.ExecuteAsync(ct);
                }
                batch.Issues?.Update(customerId, reasonKey, issueId.Value, issue => issue with { Count = issue.Count + 1, LastAt = Math.Max(issue.LastAt, occurred) });
                if (after is { } bridged)
                {
                    issueCount += await MergeLaterIssueAsync(issueId.Value, bridged, customerId, occurred, batch, ct);
                    batch.Issues?.Update(customerId, reasonKey, issueId.Value, issue => issue with { Count = issue.Count + bridged.Count, LastAt = Math.Max(issue.LastAt, bridged.LastAt) });
                    batch.Issues?.Update(customerId, reasonKey, bridged.Id, _ => null);
                }
            }
        }
        issueId ??= await NewIssueAsync(input, reasonKey, customerId, occurred, siteId, teamId, agentId, batch, ct);

        const string columns = "external_id, content_hash, customer_id, channel, occurred_at, site_id, team_id, agent_id, queue, reason, " +
            "wait_seconds, transfers, resolved, summary, issue_id, sentiment, signals, root_cause, root_cause_confidence, received_at, repeat_gap_ms";
        const string values = "@x, @h, @c, @ch, @at, @s, @t, @a, @q, @r, @w, @tr, @res, @sum, @i, @sent, @sig, @rc, @rcc, @now, @gap";
        object?[] row =
        [
            input.ExternalId, item.ContentHash, customerId, input.Channel, occurred, siteId, teamId, agentId, input.Queue, input.Reason,
            input.WaitSeconds, input.Transfers, input.Resolved, input.Summary, issueId, item.Findings?.Sentiment, item.Findings?.SignalsText,
            item.Findings?.RootCause, item.Findings?.RootCauseConfidence, batch.Now.ToUnixTimeMilliseconds(), repeatGapMs,
        ];
        long? id;
        if (_db.IsSqlite)
        {
            var insertContact = Statement("contact.insert", $"INSERT INTO contacts ({columns}) VALUES ({values}) ON CONFLICT (external_id) DO NOTHING", ContactInsertNames);
            insertContact.Set(row);
            id = await insertContact.InsertAsync(ct);
        }
        else
        {
            // Its id drawn from the sequence, the insert waits to go with the commit's others (InsertPendingAsync).
            id = batch.ContactIds.Dequeue();
            Wait(batch, new PendingWrite($"INSERT INTO contacts (id, {columns}) VALUES (@id, {values}) ON CONFLICT (external_id) DO NOTHING RETURNING id",
                ["@id", .. ContactInsertNames], [id, .. row], true), customerId, reasonKey);
            batch.WaitingContacts.Add(input.ExternalId);
            // The same record twice in one commit: the second copy finds the first.
            batch.KnownContacts[input.ExternalId] = (id.Value, item.ContentHash, siteId);
        }
        if (id is null)
        {
            // Unexpected while the contact writers' lock is held, but an insert that did nothing is a record stored
            // by someone else: the batch is retried and the check answers.
            throw new IngestRaceException();
        }
        var stored = new StoredContact(id.Value, input, item.Findings, customerId, siteId, teamId, agentId, issueId, repeatGapMs, siteCode, issueCount, issueFirstAt);
        batch.Contacts.Add(stored);
        return new IngestOutcome(IngestStatus.Created, stored.Id) { Stored = stored, ReceivedAt = batch.NowMs };
    }

    /// <summary>
    /// The reason as issues store it: "Billing" and "billing" are one reason. The commit's read of its issues
    /// (ReadCommitIssuesAsync) must key them as the contacts look them up.
    /// </summary>
    private static string ReasonKey(string? reason) => reason?.ToLowerInvariant() ?? "";

    /// <summary>An issue that starts with this contact, counted for FCR on its day, site, team, agent and channel.</summary>
    private async Task<long> NewIssueAsync(
        ContactInput input, string reasonKey, long customerId, long occurred, long siteId, long teamId, long agentId, IngestBatch batch, CancellationToken ct)
    {
        var day = IngestBatch.DayOf(occurred);
        const string columns = "customer_id, reason, first_at, last_at, contact_count, first_resolved, day, site_id, team_id, agent_id, channel";
        const string values = "@c, @r, @at, @at, 1, @res, @day, @s, @t, @a, @ch";
        string[] names = ["@c", "@r", "@at", "@res", "@day", "@s", "@t", "@a", "@ch"];
        object?[] row = [customerId, reasonKey, occurred, input.Resolved, day, siteId, teamId, agentId, input.Channel];
        long id;
        if (_db.IsSqlite)
        {
            var insert = Statement("issue.insert", $"INSERT INTO issues ({columns}) VALUES ({values})", names);
            insert.Set(row);
            id = (await insert.InsertAsync(ct))!.Value;
        }
        else
        {
            id = batch.IssueIds.Dequeue();
            Wait(batch, new PendingWrite($"INSERT INTO issues (id, {columns}) VALUES (@id, {values}) RETURNING id", ["@id", .. names], [id, .. row], false), customerId, reasonKey);
            batch.Issues?.Add(customerId, reasonKey, new IssueRow(id, 1, input.Resolved, new IssueCell(day, siteId, teamId, agentId, input.Channel), occurred, occurred));
        }
        batch.AddIssue(new IssueCell(day, siteId, teamId, agentId, input.Channel), 1, input.Resolved == false ? 0 : 1);
        return id;
    }

    /// <summary>
    /// The customer's issues on the reason that a contact at <paramref name="occurred"/> may touch, in one query: the
    /// latest one open within the window before it (the contact joins it), and the first one that starts within the
    /// window after it (the contact goes before it, or bridges it to the one it joins). The second cannot be the
    /// first: it starts after the contact, the first at or before it.
    /// </summary>
    private async Task<(IssueRow? Before, IssueRow? After)> IssuesAroundAsync(long customerId, string reasonKey, long occurred, CancellationToken ct)
    {
        const string columns = "id, contact_count, first_resolved, day, site_id, team_id, agent_id, channel, last_at, first_at FROM issues WHERE customer_id = @c AND reason = @r";
        var find = Statement("issue.around",
            $"SELECT * FROM (SELECT 0 AS k, {columns} AND last_at >= @from AND first_at <= @at ORDER BY last_at DESC LIMIT 1) b " +
            $"UNION ALL SELECT * FROM (SELECT 1 AS k, {columns} AND first_at > @at AND first_at <= @to ORDER BY first_at LIMIT 1) a",
            "@c", "@r", "@from", "@at", "@to");
        find.Set(customerId, reasonKey, occurred - _repeatWindowMs, occurred, occurred + _repeatWindowMs);
        var rows = await find.ReadAllAsync(row => (After: row.Int32(0) == 1, Issue: new IssueRow(row.Int64(1), row.Int32(2), row.IsNull(3) ? null : row.Bool(3),
            new IssueCell(row.Int64(4), row.Int64(5), row.Int64(6), row.Int64(7), row.Text(8)), row.Int64(9), row.Int64(10))), ct);
        return (rows.FirstOrDefault(r => !r.After).Issue, rows.FirstOrDefault(r => r.After).Issue);
    }

    /// <summary>
    /// A contact that arrives late may bridge two issues: A on day 1 and C on day 10 were apart (more than the window),
    /// and B on day 5 is within the window of both. Had B come in order, C would have joined B's issue, so B joins A's
    /// issue and C's issue (<paramref name="later"/>) is merged into it: its contacts move over, its first contact
    /// becomes a repeat, and it no longer counts as an issue of its own for FCR. Returns the contacts it brought.
    /// </summary>
    private async Task<int> MergeLaterIssueAsync(long issueId, IssueRow later, long customerId, long occurred, IngestBatch batch, CancellationToken ct)
    {
        // The later issue leaves its cell; the merged one is no longer resolved at first contact (the join counted that).
        batch.AddIssue(later.Cell, -1, later.Count == 1 && later.FirstResolved != false ? -1 : 0);
        await NowARepeatAsync(customerId, later.Id, later.FirstAt, later.FirstAt - occurred, batch, ct);
        var move = Statement("issue.bridge-move", "UPDATE contacts SET issue_id = @id WHERE customer_id = @c AND issue_id = @later", "@id", "@c", "@later");
        move.Set(issueId, customerId, later.Id);
        await move.ExecuteAsync(ct);
        var grow = Statement("issue.bridge-grow",
            "UPDATE issues SET contact_count = contact_count + @n, last_at = CASE WHEN last_at < @last THEN @last ELSE last_at END WHERE id = @id",
            "@n", "@last", "@id");
        grow.Set(later.Count, later.LastAt, issueId);
        await grow.ExecuteAsync(ct);
        var drop = Statement("issue.bridge-drop", "DELETE FROM issues WHERE id = @later", "@later");
        drop.Set(later.Id);
        await drop.ExecuteAsync(ct);
        return later.Count;
    }

    /// <summary>
    /// Records do not always arrive in time order (a CRM export newest first, a retry, two feeds), so a contact may
    /// come in after the repeat that followed it. When an issue of the customer on the same reason starts within the
    /// window after this contact (<paramref name="next"/>), the contact becomes its first: the issue moves to this
    /// contact's day, site, team, agent and channel, and it is no longer resolved at first contact. Returns its new count.
    /// </summary>
    private async Task<int> PrependToIssueAsync(
        IssueRow next, ContactInput input, long customerId, long occurred, long siteId, long teamId, long agentId, IngestBatch batch, CancellationToken ct)
    {
        batch.AddIssue(next.Cell, -1, next.Count == 1 && next.FirstResolved != false ? -1 : 0);
        var day = IngestBatch.DayOf(occurred);
        batch.AddIssue(new IssueCell(day, siteId, teamId, agentId, input.Channel), 1, 0);
        var update = Statement("issue.prepend",
            "UPDATE issues SET contact_count = contact_count + 1, first_at = @at, first_resolved = @res, day = @day, site_id = @s, team_id = @t, " +
            "agent_id = @a, channel = @ch WHERE id = @id",
            "@at", "@res", "@day", "@s", "@t", "@a", "@ch", "@id");
        update.Set(occurred, input.Resolved, day, siteId, teamId, agentId, input.Channel, next.Id);
        await update.ExecuteAsync(ct);
        await NowARepeatAsync(customerId, next.Id, next.FirstAt, next.FirstAt - occurred, batch, ct);
        return next.Count + 1;
    }

    /// <summary>
    /// The contact that was first of an issue is now a repeat, <paramref name="gapMs"/> after the contact that came in
    /// before it. It is named on the batch, so that rules on repeat contacts see it as if the two had come in order.
    /// </summary>
    private async Task NowARepeatAsync(long customerId, long issueId, long firstAtMs, long gapMs, IngestBatch batch, CancellationToken ct)
    {
        var find = Statement("issue.repeat-find",
            "SELECT id FROM contacts WHERE customer_id = @c AND occurred_at = @first AND issue_id = @id AND repeat_gap_ms IS NULL", "@c", "@first", "@id");
        find.Set(customerId, firstAtMs, issueId);
        long contactId;
        using (var row = await find.ReadFirstAsync(ct))
        {
            if (!row.Found)
            {
                return;
            }
            contactId = row.Int64(0);
        }
        var gap = Statement("issue.repeat-gap", "UPDATE contacts SET repeat_gap_ms = @gap WHERE id = @id", "@gap", "@id");
        gap.Set(gapMs, contactId);
        await gap.ExecuteAsync(ct);
        batch.NewRepeats.Add(contactId);
    }

    /// <param name="at">The record's place in the commit (job, item), where a PostgreSQL insert sent later puts its outcome.</param>
    private async Task<IngestOutcome> WriteResponseAsync(ResponseItem item, WriteScope scope, IngestBatch batch, (int Job, int Item) at, CancellationToken ct)
    {
        var input = item.Input;
        // New records are the common case, so the insert goes first and a retry is recognised when it inserts
        // nothing; that saves a lookup per record. (Contacts check first: chaining an issue must not run twice.)

        long siteId, teamId, agentId;
        long? contactId = null;
        string channel;
        (string? Site, string? Team, string? Agent) codes;
        if (input.ContactExternalId is not null)
        {
            if (batch.WaitingContacts.Contains(input.ContactExternalId))
            {
                // The contact came earlier in this commit, and its insert waits.
                await FlushAsync(batch, ct);
            }
            var find = Statement("contact.find",
                "SELECT c.id, c.site_id, c.team_id, c.agent_id, c.channel, s.code, t.code, a.code, cu.external_id, c.customer_id FROM contacts c " +
                "LEFT JOIN sites s ON s.id = c.site_id LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN agents a ON a.id = c.agent_id " +
                "LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.external_id = @x", "@x");
            find.Set(input.ContactExternalId);
            using (var row = await find.ReadFirstAsync(ct))
            {
                if (!row.Found || (scope.SiteId is not null && row.Int64(1) != scope.SiteId))
                {
                    return IngestOutcome.Invalid("contactExternalId", "no contact with this externalId");
                }
                // On PostgreSQL a customer first seen in this commit is not inserted until its end (InsertPendingAsync),
                // so for a contact stored earlier in the same commit the join finds no external id: its customer_id says.
                if (row.TextOrNull(8) != input.Customer.ExternalId
                    && !(batch.PendingCustomers.TryGetValue(input.Customer.ExternalId, out var pending) && pending.Id == row.Int64(9)))
                {
                    // Otherwise one customer's score would count for another customer's contact, and its agent.
                    return IngestOutcome.Invalid("contactExternalId", "the contact is another customer's; a response is about a contact of its own customer");
                }
                contactId = row.Int64(0);
                siteId = row.Int64(1);
                teamId = row.Int64(2);
                agentId = row.Int64(3);
                channel = row.Text(4);
                codes = (row.TextOrNull(5), row.TextOrNull(6), row.TextOrNull(7));
            }
        }
        else
        {
            var siteCode = input.Site ?? scope.SiteCode;
            if (scope.SiteCode is not null && siteCode != scope.SiteCode)
            {
                return OtherSite(scope);
            }
            string? refused;
            (siteId, teamId, agentId, refused) = await ResolveOrgAsync(siteCode, input.Team, input.Agent, scope, batch, ct);
            if (refused is not null)
            {
                return OrgOfAnotherSite(refused);
            }
            channel = input.Channel!;
            codes = (siteCode, input.Team, input.Agent);
        }

        var responded = (input.RespondedAt ?? batch.Now).ToUnixTimeMilliseconds();
        var customerId = await UpsertCustomerAsync(input.Customer, responded, scope, batch, ct);
        object?[] values =
        [
            input.ExternalId, item.ContentHash, customerId, input.Metric, input.Score, input.Comment, responded, contactId, siteId, teamId, agentId,
            channel, item.Findings?.Sentiment, item.Findings?.SignalsText, item.Findings?.RootCause, item.Findings?.RootCauseConfidence,
            batch.Now.ToUnixTimeMilliseconds(),
        ];
        var stored = new StoredResponse(0, input, item.Findings, customerId, contactId, siteId, teamId, agentId, channel, responded, codes.Site, codes.Team, codes.Agent);
        if (!_db.IsSqlite)
        {
            // Nothing later in the commit reads a response back, so on PostgreSQL the inserts wait and go to the server
            // together (InsertPendingAsync) instead of one round trip each.
            batch.Pending.Add(new PendingResponse(at.Job, at.Item, item, scope, values, stored));
            return PendingResponse.Placeholder;
        }
        var insert = Statement("response.insert", ResponseInsertSql, ResponseInsertNames);
        insert.Set(values);
        return await ResponseWrittenAsync(await insert.InsertAsync(ct), item, scope, stored, batch, ct);
    }

    private string ResponseInsertSql =>
        "INSERT INTO responses (external_id, content_hash, customer_id, metric, score, comment, responded_at, contact_id, site_id, team_id, agent_id, " +
        "channel, sentiment, signals, root_cause, root_cause_confidence, received_at) " +
        "VALUES (@x, @h, @c, @m, @sc, @co, @at, @ci, @s, @t, @a, @ch, @sent, @sig, @rc, @rcc, @now) " +
        "ON CONFLICT (external_id) DO NOTHING" + ReturningId;

    private static readonly string[] ResponseInsertNames = ["@x", "@h", "@c", "@m", "@sc", "@co", "@at", "@ci", "@s", "@t", "@a", "@ch", "@sent", "@sig", "@rc", "@rcc", "@now"];

    /// <summary>The outcome of a response's insert: created with <paramref name="id"/>, or (null) a retry or a conflict.</summary>
    private async Task<IngestOutcome> ResponseWrittenAsync(long? id, ResponseItem item, WriteScope scope, StoredResponse stored, IngestBatch batch, CancellationToken ct)
    {
        if (id is null)
        {
            return await ExistingAsync("responses", item.Input.ExternalId, item.ContentHash, scope, ct) ?? throw new IngestRaceException();
        }
        batch.AddResponse(new ResponseCell(IngestBatch.DayOf(stored.RespondedAtMs), stored.SiteId, stored.TeamId, stored.AgentId, stored.Channel, item.Input.Metric),
            item.Input.Metric, item.Input.Score, item.Findings?.RootCause);
        stored = stored with { Id = id.Value };
        batch.Responses.Add(stored);
        return new IngestOutcome(IngestStatus.Created, id.Value) { Stored = stored, ReceivedAt = batch.NowMs };
    }

    private const string CustomerInsertWithIdSql =
        "INSERT INTO customers (id, external_id, name, email, phone, handle, profile_at, created_at, updated_at) VALUES (@id, @x, @n, @e, @p, @h, @at, @now, @now) " +
        "ON CONFLICT (external_id) DO NOTHING RETURNING id";

    private static readonly string[] CustomerInsertNames = ["@id", "@x", "@n", "@e", "@p", "@h", "@at", "@now"];

    /// <summary>
    /// PostgreSQL only: sends the commit's waiting inserts (new customers, responses) in batches of
    /// <see cref="CellsPerBatch"/>, one round trip each, in the records' order, and puts each record's outcome in its
    /// place. One round trip per insert was most of what a record cost the writer there (docs/benchmarks.md, F15). In
    /// the records' order, a customer is inserted before its first response, and a record sent twice in one commit is
    /// created once and found by its second copy, as on SQLite.
    /// </summary>
    private async Task InsertPendingAsync(IngestBatch batch, DbTransaction transaction, IngestOutcome[][] results, CancellationToken ct)
    {
        foreach (var chunk in batch.Pending.Chunk(CellsPerBatch))
        {
            var ids = new long?[chunk.Length];
            await using (var inserts = _connection!.CreateBatch())
            {
                inserts.Transaction = transaction;
                foreach (var pending in chunk)
                {
                    inserts.BatchCommands.Add(pending switch
                    {
                        PendingResponse response => BatchCommand(inserts, ResponseInsertSql, ResponseInsertNames, response.Values),
                        PendingWrite write => BatchCommand(inserts, write.Sql, write.Names, write.Values),
                        PendingCustomer customer => BatchCommand(inserts, CustomerInsertWithIdSql, CustomerInsertNames,
                        [
                            customer.Profile.Id, customer.ExternalId, customer.Profile.Name, customer.Profile.Email, customer.Profile.Phone,
                            customer.Profile.Handle, customer.Profile.ProfileAt, customer.CreatedAtMs,
                        ]),
                        _ => throw new InvalidOperationException("Unknown waiting insert."),
                    });
                }
                await using var reader = await inserts.ExecuteReaderAsync(ct);
                for (var k = 0; k < chunk.Length; k++)
                {
                    if (k > 0)
                    {
                        await reader.NextResultAsync(ct);
                    }
                    ids[k] = await reader.ReadAsync(ct) ? reader.GetInt64(0) : null;
                    if (ids[k] is null && chunk[k] is PendingCustomer or PendingWrite { MustInsert: true })
                    {
                        // Another process stored the customer (or contact) after this commit read it as new: the commit
                        // is retried and the read finds it.
                        throw new IngestRaceException();
                    }
                }
            }
            for (var k = 0; k < chunk.Length; k++)
            {
                if (chunk[k] is PendingResponse pending)
                {
                    results[pending.Job][pending.Item] = await ResponseWrittenAsync(ids[k], pending.Record, pending.Scope, pending.Stored, batch, ct);
                }
            }
        }
        batch.Pending.Clear();
        batch.PendingCustomers.Clear();
        batch.WaitingIssues.Clear();
        batch.WaitingContacts.Clear();
    }

    /// <summary>Sends the commit's waiting writes now, before a statement that must see them.</summary>
    private Task FlushAsync(IngestBatch batch, CancellationToken ct) => InsertPendingAsync(batch, batch.Transaction!, batch.Results!, ct);

    /// <summary>
    /// A contact's write (its insert, its issue's insert or join) that waits; a later contact of the customer on the
    /// reason that reads and moves contacts (going before an issue, bridging two) sends it first.
    /// </summary>
    private static void Wait(IngestBatch batch, PendingWrite write, long customerId, string reasonKey)
    {
        batch.Pending.Add(write);
        batch.WaitingIssues.Add((customerId, reasonKey));
    }

    private static readonly string[] ContactInsertNames =
        ["@x", "@h", "@c", "@ch", "@at", "@s", "@t", "@a", "@q", "@r", "@w", "@tr", "@res", "@sum", "@i", "@sent", "@sig", "@rc", "@rcc", "@now", "@gap"];

    /// <summary>
    /// PostgreSQL: ids for the commit's contacts and for the issues they may open, drawn from the two sequences in one
    /// statement, so that their inserts can wait and go to the server together. Ids a commit does not use are gaps.
    /// </summary>
    private async Task DrawContactIdsAsync(IngestBatch batch, int count, CancellationToken ct)
    {
        var draw = Command("contact.ids",
            "SELECT nextval(pg_get_serial_sequence('contacts', 'id')), nextval(pg_get_serial_sequence('issues', 'id')) FROM generate_series(1, @n)", "@n");
        Set(draw, count);
        await using var reader = await draw.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            batch.ContactIds.Enqueue(reader.GetInt64(0));
            batch.IssueIds.Enqueue(reader.GetInt64(1));
        }
    }

    /// <summary>
    /// A site-scoped caller may not write outside its site, and learns no more about another site than that its
    /// records are not there: a 404, as a read of them answers.
    /// </summary>
    private static IngestOutcome OtherSite(WriteScope scope) =>
        IngestOutcome.NotFound("site", $"this API key writes only records of site '{scope.SiteCode}'");

    private async Task<IngestOutcome?> ExistingAsync(string table, string externalId, byte[] hash, WriteScope scope, CancellationToken ct)
    {
        var find = Statement(table + ".existing", $"SELECT id, content_hash, site_id FROM {table} WHERE external_id = @x", "@x");
        find.Set(externalId);
        using var row = await find.ReadFirstAsync(ct);
        return row.Found ? Existing(row.Int64(0), row.Blob(1), row.Int64(2), hash, scope) : null;
    }

    /// <summary>What a record whose external id is taken answers: the same record (200), another site's (404), or a conflict (409).</summary>
    private static IngestOutcome Existing(long id, byte[] storedHash, long storedSiteId, byte[] hash, WriteScope scope)
    {
        if (scope.SiteId is { } site && storedSiteId != site)
        {
            // The id is taken by a record of another site. Nothing about that record is told, not even that its
            // content differs (a 409): the caller gets the 404 a read of it would get.
            return IngestOutcome.NotFound("externalId", "no record with this externalId at this API key's site, and the externalId is taken");
        }
        return storedHash.AsSpan().SequenceEqual(hash)
            ? new IngestOutcome(IngestStatus.Existing, id)
            : new IngestOutcome(IngestStatus.Conflict, id, new Dictionary<string, string[]>(StringComparer.Ordinal)
            {
                ["externalId"] = ["a different record with this externalId already exists"],
            });
    }

    /// <remarks>
    /// A customer is one person across sites, so a site-scoped caller (an outsourced vendor's feed) may add a contact
    /// point the profile lacks but never replace one: otherwise one vendor could redirect the messages another site's
    /// recovery sends. Unscoped callers (the company's CRM) own the profile, and the newest of their records wins,
    /// newest by the record's own time (<paramref name="recordAtMs"/>), not by arrival: a backfill of old records
    /// fills blanks but does not bring back an old address.
    /// </remarks>
    private async Task<long> UpsertCustomerAsync(CustomerInput customer, long recordAtMs, WriteScope scope, IngestBatch batch, CancellationToken ct)
    {
        var now = batch.Now;
        bool FillOnly(long? profileAt) => scope.SiteId is not null || (profileAt is { } at && recordAtMs < at);
        // Most records come from customers seen before: a cache of what was committed saves a lookup per record. On
        // PostgreSQL other processes may change a profile unseen, so a record that names a detail is checked against
        // the profile as read at the commit's start (ReadCommitCustomersAsync).
        var isKnown = batch.NewCustomers.TryGetValue(customer.ExternalId, out var known)
            || ((_db.IsSqlite || !NamesADetail(customer)) && _customers.TryGetValue(customer.ExternalId, out known));
        if (isKnown && !(FillOnly(known!.ProfileAt) ? FillsBlanks(known, customer) : Changes(known, customer)))
        {
            if (!FillOnly(known.ProfileAt) && NamesADetail(customer) && known.ProfileAt != recordAtMs)
            {
                // The details are confirmed as of this newer record: an older record that arrives later (a backfill)
                // must then only fill blanks, though it is newer than the record that first gave these details.
                if (!Keep(batch, customer.ExternalId, known with { ProfileAt = recordAtMs }))
                {
                    batch.ProfileTimes[known.Id] = recordAtMs;
                }
            }
            return known.Id;
        }
        if (isKnown)
        {
            // What the writer knows is what is stored (SQLite drops its memory when another connection commits;
            // PostgreSQL read the profile at the commit's start): the change is merged here and updated at once, or, if
            // the customer's insert is still waiting, in that insert.
            var changed = Merge(known!, customer, FillOnly(known!.ProfileAt), recordAtMs);
            if (!Keep(batch, customer.ExternalId, changed))
            {
                await UpdateCustomerAsync(changed, now, ct);
            }
            return changed.Id;
        }
        // A site's record sets no profile time: the first record of the company's own feed may still replace it.
        long? insertedAt = scope.SiteId is null ? recordAtMs : null;
        if (!_db.IsSqlite)
        {
            // ReadCommitCustomersAsync read every customer of the commit that this writer could not trust its cache
            // for, so one unknown here was not in the database when the commit began: it is inserted with the commit's
            // responses, under an id taken from the sequence.
            var added = new PendingCustomer(new CachedCustomer(await NewCustomerIdAsync(batch, ct), customer.Name, customer.Email, customer.Phone, customer.Handle, insertedAt),
                customer.ExternalId, now.ToUnixTimeMilliseconds());
            batch.Pending.Add(added);
            batch.PendingCustomers[customer.ExternalId] = added;
            batch.NewCustomers[customer.ExternalId] = added.Profile;
            return added.Profile.Id;
        }
        // SQLite, unknown to this writer: try to insert (a new customer costs one statement); a conflict means the
        // customer exists and is read back.
        var insert = Statement("customer.insert",
            "INSERT INTO customers (external_id, name, email, phone, handle, profile_at, created_at, updated_at) VALUES (@x, @n, @e, @p, @h, @at, @now, @now) " +
            "ON CONFLICT (external_id) DO NOTHING",
            "@x", "@n", "@e", "@p", "@h", "@at", "@now");
        insert.Set(customer.ExternalId, customer.Name, customer.Email, customer.Phone, customer.Handle, insertedAt, now.ToUnixTimeMilliseconds());
        if (await insert.InsertAsync(ct) is long newId)
        {
            batch.NewCustomers[customer.ExternalId] = new CachedCustomer(newId, customer.Name, customer.Email, customer.Phone, customer.Handle, insertedAt);
            return newId;
        }
        var find = Statement("customer.find", "SELECT id, name, email, phone, handle, profile_at FROM customers WHERE external_id = @x", "@x");
        find.Set(customer.ExternalId);
        CachedCustomer? before = null;
        using (var row = await find.ReadFirstAsync(ct))
        {
            if (row.Found)
            {
                before = new CachedCustomer(row.Int64(0), row.TextOrNull(1), row.TextOrNull(2), row.TextOrNull(3), row.TextOrNull(4), row.IsNull(5) ? null : row.Int64(5));
            }
        }
        if (before is null)
        {
            throw new IngestRaceException();
        }
        var merged = Merge(before, customer, FillOnly(before.ProfileAt), recordAtMs);
        if (merged != before)
        {
            await UpdateCustomerAsync(merged, now, ct);
        }
        batch.NewCustomers[customer.ExternalId] = merged;
        return before.Id;
    }

    /// <summary>
    /// Makes <paramref name="profile"/> what the rest of the commit knows of the customer. True when the customer's
    /// insert is still waiting (PostgreSQL) and now carries it, so there is nothing to update.
    /// </summary>
    private static bool Keep(IngestBatch batch, string externalId, CachedCustomer profile)
    {
        batch.NewCustomers[externalId] = profile;
        if (batch.PendingCustomers.TryGetValue(externalId, out var waiting))
        {
            waiting.Profile = profile;
            return true;
        }
        return false;
    }

    /// <summary>
    /// Absent fields never erase what is known. An unscoped record at least as new as the profile's wins where it names
    /// a contact point, and the profile takes its time; an older one, or a site-scoped one, only fills blanks.
    /// </summary>
    private static CachedCustomer Merge(CachedCustomer before, CustomerInput customer, bool fillOnly, long recordAtMs) => fillOnly
        ? before with { Name = before.Name ?? customer.Name, Email = before.Email ?? customer.Email, Phone = before.Phone ?? customer.Phone, Handle = before.Handle ?? customer.Handle }
        : before with
        {
            Name = customer.Name ?? before.Name, Email = customer.Email ?? before.Email, Phone = customer.Phone ?? before.Phone, Handle = customer.Handle ?? before.Handle,
            // A record that names no detail (most of them: the customer's external id alone) says nothing about the profile.
            ProfileAt = NamesADetail(customer) ? recordAtMs : before.ProfileAt,
        };

    private async Task UpdateCustomerAsync(CachedCustomer profile, DateTimeOffset now, CancellationToken ct)
    {
        var update = Statement("customer.update",
            "UPDATE customers SET name = @n, email = @e, phone = @p, handle = @h, profile_at = @at, updated_at = @now WHERE id = @id",
            "@n", "@e", "@p", "@h", "@at", "@now", "@id");
        update.Set(profile.Name, profile.Email, profile.Phone, profile.Handle, profile.ProfileAt, now.ToUnixTimeMilliseconds(), profile.Id);
        await update.ExecuteAsync(ct);
    }

    /// <summary>
    /// PostgreSQL only: reads, in one statement, the stored profiles of the commit's customers that this writer may not
    /// take from its cache: those it has not seen, and those whose records name a detail (other processes may change
    /// a profile unseen). One read per record cost a round trip each, two for a customer found by a failed insert
    /// (docs/benchmarks.md, F14 and F15). A customer it does not find is new, and the ids such customers will take
    /// are drawn from the sequence in one more statement. The commit's records merge into this.
    /// </summary>
    private async Task ReadCommitCustomersAsync(IReadOnlyList<IReadOnlyList<IngestItem>> jobs, IngestBatch batch, CancellationToken ct)
    {
        var wanted = jobs.SelectMany(items => items)
            .Select(item => item switch { ContactItem c => c.Input.Customer, ResponseItem r => r.Input.Customer, _ => null })
            .Where(customer => customer is not null && (NamesADetail(customer) || !_customers.ContainsKey(customer.ExternalId)))
            .Select(customer => customer!.ExternalId)
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        if (wanted.Length == 0)
        {
            return;
        }
        var read = Command("customer.read-commit",
            "SELECT id, external_id, name, email, phone, handle, profile_at FROM customers WHERE external_id = ANY(@xs)", "@xs");
        Set(read, [wanted]);
        var found = 0;
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
                batch.NewCustomers[reader.GetString(1)] =
                    new CachedCustomer(reader.GetInt64(0), Text(2), Text(3), Text(4), Text(5), reader.IsDBNull(6) ? null : reader.GetInt64(6));
                found++;
            }
        }
        await DrawCustomerIdsAsync(batch, wanted.Length - found, ct);
    }

    /// <summary>
    /// PostgreSQL: which of the commit's contacts are stored already, in one statement instead of one per contact. The
    /// commit holds the contact writers' lock (WriteAsync), so no other process stores a contact until it ends.
    /// </summary>
    private async Task ReadCommitContactsAsync(IReadOnlyList<IReadOnlyList<IngestItem>> jobs, IngestBatch batch, CancellationToken ct)
    {
        var wanted = jobs.SelectMany(items => items).OfType<ContactItem>().Select(c => c.Input.ExternalId).Distinct(StringComparer.Ordinal).ToArray();
        var read = Command("contact.read-commit", "SELECT external_id, id, content_hash, site_id FROM contacts WHERE external_id = ANY(@xs)", "@xs");
        Set(read, [wanted]);
        await using var reader = await read.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            batch.KnownContacts[reader.GetString(0)] = (reader.GetInt64(1), (byte[])reader.GetValue(2), reader.GetInt64(3));
        }
    }

    /// <summary>
    /// PostgreSQL, for a commit with contacts (so under the contact writers' lock): every issue of the commit's known
    /// customers that reaches into the window around any of its contacts, in one statement, for <see cref="CommitIssues"/>.
    /// A customer the writer cannot name an id for here is new in the commit and has no issue yet.
    /// </summary>
    private async Task ReadCommitIssuesAsync(IReadOnlyList<IReadOnlyList<IngestItem>> jobs, IngestBatch batch, CancellationToken ct)
    {
        var contacts = jobs.SelectMany(items => items).OfType<ContactItem>().Where(c => c.Input.Reason is not null).Select(c => c.Input).ToList();
        if (contacts.Count == 0)
        {
            return;
        }
        batch.Issues = new CommitIssues(_repeatWindowMs);
        var customers = contacts
            .Select(c => batch.NewCustomers.TryGetValue(c.Customer.ExternalId, out var read) ? read.Id
                : _customers.TryGetValue(c.Customer.ExternalId, out var cached) ? cached.Id : (long?)null)
            .OfType<long>().Distinct().ToArray();
        if (customers.Length == 0)
        {
            return;
        }
        var read = Command("issue.read-commit",
            "SELECT customer_id, reason, id, contact_count, first_resolved, day, site_id, team_id, agent_id, channel, last_at, first_at FROM issues " +
            "WHERE customer_id = ANY(@cs) AND reason = ANY(@rs) AND last_at >= @from AND first_at <= @to", "@cs", "@rs", "@from", "@to");
        Set(read, customers, contacts.Select(c => ReasonKey(c.Reason)).Distinct(StringComparer.Ordinal).ToArray(),
            contacts.Min(c => c.OccurredAt.ToUnixTimeMilliseconds()) - _repeatWindowMs, contacts.Max(c => c.OccurredAt.ToUnixTimeMilliseconds()) + _repeatWindowMs);
        await using var reader = await read.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            batch.Issues.Add(reader.GetInt64(0), reader.GetString(1), new IssueRow(reader.GetInt64(2), reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetBoolean(4),
                new IssueCell(reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetString(9)), reader.GetInt64(10), reader.GetInt64(11)));
        }
    }

    /// <summary>The id of a customer new in this commit; the ids were drawn by <see cref="ReadCommitCustomersAsync"/>.</summary>
    private async Task<long> NewCustomerIdAsync(IngestBatch batch, CancellationToken ct)
    {
        if (batch.CustomerIds.Count == 0)
        {
            // Not expected (every unknown customer of the commit was counted), but an id is only a sequence value.
            await DrawCustomerIdsAsync(batch, 1, ct);
        }
        return batch.CustomerIds.Dequeue();
    }

    private async Task DrawCustomerIdsAsync(IngestBatch batch, int count, CancellationToken ct)
    {
        if (count <= 0)
        {
            return;
        }
        var draw = Command("customer.ids", "SELECT nextval(pg_get_serial_sequence('customers', 'id')) FROM generate_series(1, @n)", "@n");
        Set(draw, count);
        await using var reader = await draw.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            batch.CustomerIds.Enqueue(reader.GetInt64(0));
        }
    }

    private static bool NamesADetail(CustomerInput customer) => customer.Name is not null || customer.Email is not null || customer.Phone is not null || customer.Handle is not null;

    /// <summary>True when the record names a contact point the stored profile does not have at all.</summary>
    private static bool FillsBlanks(CachedCustomer known, CustomerInput incoming) =>
        (incoming.Name is not null && known.Name is null) || (incoming.Email is not null && known.Email is null)
        || (incoming.Phone is not null && known.Phone is null) || (incoming.Handle is not null && known.Handle is null);

    /// <summary>True when the record names a contact point that differs from what is stored.</summary>
    private static bool Changes(CachedCustomer known, CustomerInput incoming) =>
        (incoming.Name is not null && incoming.Name != known.Name) || (incoming.Email is not null && incoming.Email != known.Email)
        || (incoming.Phone is not null && incoming.Phone != known.Phone) || (incoming.Handle is not null && incoming.Handle != known.Handle);

    /// <summary>
    /// The ids of the record's site, team and agent, or the field to refuse. Team and agent codes are shared by every
    /// site, and each belongs to the site that first named it. A caller confined to one site may not name another
    /// site's: its records would count in that site's team and agent figures (a vendor's records in an in-house
    /// agent's scorecard), so they are refused naming the field. A code first seen on a record without a site
    /// belongs to no site and stays open to all.
    /// </summary>
    private async Task<(long SiteId, long TeamId, long AgentId, string? Refused)> ResolveOrgAsync(string? site, string? team, string? agent, WriteScope scope,
        IngestBatch batch, CancellationToken ct)
    {
        var siteId = site is null ? 0 : (await OrgIdAsync('s', site, 0, 0, batch, ct)).Id;
        var (teamId, teamSite) = team is null ? (0, 0) : await OrgIdAsync('t', team, siteId, 0, batch, ct);
        if (scope.SiteId is not null && teamSite != 0 && teamSite != siteId)
        {
            return (siteId, 0, 0, "team");
        }
        var (agentId, agentSite) = agent is null ? (0, 0) : await OrgIdAsync('a', agent, siteId, teamId, batch, ct);
        if (scope.SiteId is not null && agentSite != 0 && agentSite != siteId)
        {
            return (siteId, teamId, 0, "agent");
        }
        return (siteId, teamId, agentId, null);
    }

    private static IngestOutcome OrgOfAnotherSite(string field) => IngestOutcome.Invalid(field,
        $"is the code of a {field} of another site; team and agent codes are shared by every site, so give this site's {field}s codes of their own (for example with the site's code as a prefix)");

    /// <summary>Sites, teams and agents are created the first time a record names them; the site a team or agent belongs to comes back with it.</summary>
    private async Task<(long Id, long SiteId)> OrgIdAsync(char kind, string code, long siteId, long teamId, IngestBatch batch, CancellationToken ct)
    {
        if (_orgs.TryGetValue((kind, code), out var known) || batch.NewOrgs.TryGetValue((kind, code), out known))
        {
            return known;
        }
        var (table, insertSql, names) = kind switch
        {
            's' => ("sites", "INSERT INTO sites (code, name, created_at) VALUES (@code, @code, @now) ON CONFLICT (code) DO NOTHING", new[] { "@code", "@now" }),
            't' => ("teams", "INSERT INTO teams (code, name, site_id, created_at) VALUES (@code, @code, @s, @now) ON CONFLICT (code) DO NOTHING", new[] { "@code", "@now", "@s" }),
            _ => ("agents", "INSERT INTO agents (code, name, site_id, team_id, created_at) VALUES (@code, @code, @s, @t, @now) ON CONFLICT (code) DO NOTHING", new[] { "@code", "@now", "@s", "@t" }),
        };
        var insert = Command(table + ".insert", insertSql, names);
        object[] values = [code, batch.Now.ToUnixTimeMilliseconds(), siteId, teamId];
        Set(insert, values[..names.Length]);
        await insert.ExecuteNonQueryAsync(ct);
        // The stored site, not this record's: the code may have been created by another process or an earlier run.
        var select = Command(table + ".find", $"SELECT id, {(kind == 's' ? "0" : "site_id")} FROM {table} WHERE code = @code", "@code");
        Set(select, code);
        await using (var reader = await select.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            known = (reader.GetInt64(0), reader.GetInt64(1));
        }
        batch.NewOrgs[(kind, code)] = known;
        return known;
    }

    private async Task FlushRollupsAsync(IngestBatch batch, DbTransaction transaction, CancellationToken ct)
    {
        const string counts = "n = {0}.n + excluded.n, top = {0}.top + excluded.top, bottom = {0}.bottom + excluded.bottom, score_sum = {0}.score_sum + excluded.score_sum";
        if (batch.ResponseCells.Count > 0)
        {
            await ExecuteEachAsync("rollup.response", transaction,
                "INSERT INTO response_rollups (day, site_id, team_id, channel, metric, n, top, bottom, score_sum) VALUES (@d, @s, @t, @ch, @m, @n, @top, @bottom, @sum) " +
                "ON CONFLICT (day, site_id, team_id, channel, metric) DO UPDATE SET " + string.Format(CultureInfo.InvariantCulture, counts, "response_rollups"),
                ["@d", "@s", "@t", "@ch", "@m", "@n", "@top", "@bottom", "@sum"], 5,
                batch.ResponseCells.GroupBy(c => (c.Key.Day, c.Key.SiteId, c.Key.TeamId, c.Key.Channel, c.Key.Metric)).Select(group =>
                {
                    var (d, s, t, ch, m) = group.Key;
                    return new object?[] { d, s, t, ch, m, group.Sum(g => g.Value.N), group.Sum(g => g.Value.Top), group.Sum(g => g.Value.Bottom), group.Sum(g => g.Value.Sum) };
                }), ct);
            await ExecuteEachAsync("rollup.agent-response", transaction,
                "INSERT INTO agent_response_rollups (day, agent_id, site_id, metric, n, top, bottom, score_sum) VALUES (@d, @a, @s, @m, @n, @top, @bottom, @sum) " +
                "ON CONFLICT (day, agent_id, site_id, metric) DO UPDATE SET " + string.Format(CultureInfo.InvariantCulture, counts, "agent_response_rollups"),
                ["@d", "@a", "@s", "@m", "@n", "@top", "@bottom", "@sum"], 4,
                batch.ResponseCells.GroupBy(c => (c.Key.Day, c.Key.AgentId, c.Key.SiteId, c.Key.Metric)).Select(group =>
                {
                    var (d, a, s, m) = group.Key;
                    return new object?[] { d, a, s, m, group.Sum(g => g.Value.N), group.Sum(g => g.Value.Top), group.Sum(g => g.Value.Bottom), group.Sum(g => g.Value.Sum) };
                }), ct);
        }
        if (batch.CauseCells.Count > 0)
        {
            await ExecuteEachAsync("rollup.cause", transaction,
                "INSERT INTO cause_rollups (day, site_id, metric, root_cause, n, top, bottom) VALUES (@d, @s, @m, @rc, @n, @top, @bottom) " +
                "ON CONFLICT (day, site_id, metric, root_cause) DO UPDATE SET n = cause_rollups.n + excluded.n, top = cause_rollups.top + excluded.top, bottom = cause_rollups.bottom + excluded.bottom",
                ["@d", "@s", "@m", "@rc", "@n", "@top", "@bottom"], 4,
                batch.CauseCells.Select(c => new object?[] { c.Key.Day, c.Key.SiteId, c.Key.Metric, c.Key.RootCause, c.Value.N, c.Value.Top, c.Value.Bottom }), ct);
        }
        if (batch.CauseGroupCells.Count > 0)
        {
            await ExecuteEachAsync("rollup.cause-group", transaction,
                "INSERT INTO cause_group_rollups (dim, day, site_id, group_key, root_cause, n) VALUES (@dim, @d, @s, @k, @rc, @n) " +
                "ON CONFLICT (dim, day, site_id, group_key, root_cause) DO UPDATE SET n = cause_group_rollups.n + excluded.n",
                ["@dim", "@d", "@s", "@k", "@rc", "@n"], 5,
                batch.CauseGroupCells.Select(c => new object?[] { c.Key.Dim, c.Key.Day, c.Key.SiteId, c.Key.Key, c.Key.RootCause, c.Value }), ct);
        }
        if (batch.IssueCells.Count > 0)
        {
            await ExecuteEachAsync("rollup.issue", transaction,
                "INSERT INTO issue_rollups (day, site_id, team_id, channel, issues, fcr) VALUES (@d, @s, @t, @ch, @i, @f) " +
                "ON CONFLICT (day, site_id, team_id, channel) DO UPDATE SET issues = issue_rollups.issues + excluded.issues, fcr = issue_rollups.fcr + excluded.fcr",
                ["@d", "@s", "@t", "@ch", "@i", "@f"], 4,
                batch.IssueCells.GroupBy(c => (c.Key.Day, c.Key.SiteId, c.Key.TeamId, c.Key.Channel)).Select(group =>
                {
                    var (d, s, t, ch) = group.Key;
                    return new object?[] { d, s, t, ch, group.Sum(g => g.Value.Issues), group.Sum(g => g.Value.Fcr) };
                }), ct);
            await ExecuteEachAsync("rollup.agent-issue", transaction,
                "INSERT INTO agent_issue_rollups (day, agent_id, site_id, issues, fcr) VALUES (@d, @a, @s, @i, @f) " +
                "ON CONFLICT (day, agent_id, site_id) DO UPDATE SET issues = agent_issue_rollups.issues + excluded.issues, fcr = agent_issue_rollups.fcr + excluded.fcr",
                ["@d", "@a", "@s", "@i", "@f"], 3,
                batch.IssueCells.GroupBy(c => (c.Key.Day, c.Key.AgentId, c.Key.SiteId)).Select(group =>
                {
                    var (d, a, s) = group.Key;
                    return new object?[] { d, a, s, group.Sum(g => g.Value.Issues), group.Sum(g => g.Value.Fcr) };
                }), ct);
        }
    }

    /// <summary>
    /// Runs one statement per row (a rollup cell's upsert, a profile's time). On SQLite that is the prepared statement,
    /// once per row. On PostgreSQL the rows go to the server as batches of <see cref="CellsPerBatch"/> statements, one round trip each: a commit of
    /// records spread over a year holds thousands of cells, and one round trip per cell was 40 % of an import's
    /// statements (docs/benchmarks.md, F14). There, several processes may write at once, each locking the cells it
    /// updates until it commits: the cells go in one order (by their key, the first <paramref name="keyColumns"/>
    /// values) so that two writers never wait on each other in a circle, which PostgreSQL would end by failing one.
    /// </summary>
    private async Task ExecuteEachAsync(string key, DbTransaction transaction, string sql, string[] names, int keyColumns, IEnumerable<object?[]> cells, CancellationToken ct)
    {
        if (_db.IsSqlite)
        {
            var upsert = Statement(key, sql, names);
            foreach (var values in cells)
            {
                upsert.Set(values);
                await upsert.ExecuteAsync(ct);
            }
            return;
        }
        var ordered = cells.OrderBy(values => string.Join('\u001f', values.Take(keyColumns).Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))), StringComparer.Ordinal);
        foreach (var chunk in ordered.Chunk(CellsPerBatch))
        {
            await using var batch = _connection!.CreateBatch();
            batch.Transaction = transaction;
            foreach (var values in chunk)
            {
                batch.BatchCommands.Add(BatchCommand(batch, sql, names, values));
            }
            await batch.ExecuteNonQueryAsync(ct);
        }
    }

    private static DbBatchCommand BatchCommand(DbBatch batch, string sql, string[] names, object?[] values)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = sql;
        for (var i = 0; i < names.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = names[i];
            parameter.Value = values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    /// <summary>Rollup upserts sent to PostgreSQL in one round trip.</summary>
    private const int CellsPerBatch = 500;

    private async Task<DbConnection> ConnectionAsync(CancellationToken ct)
    {
        if (_connection is null)
        {
            _connection = await _db.OpenAsync(ct);
            if (_db.IsSqlite)
            {
                // The single writer's commits touch pages all over the indexes of responses and the rollups; with
                // SQLite's default 2 MiB cache it re-read them through the kernel for every batch (F5 in
                // docs/benchmarks.md). Not more than 8 MiB: every commit ends with a sweep of the page cache's hash
                // table that grows with it (pcache1TruncateUnsafe: 6.4 % of single-ingest CPU at 64 MiB, 1.3 % at
                // 8 MiB), and batch ingest measured the same at 8 and 64 MiB.
                // temp_store=MEMORY: inside a transaction of thousands of records SQLite keeps a statement journal for
                // each statement (the prior content of every page it changes that the transaction had already
                // changed), and by default that journal spills to a temporary file. A 200,000-row import wrote 4.7 GB
                // to it in 2.3 million write calls; in memory the import writes 0.44 GB in all, and batch ingest
                // measured 1.3 times faster (F5 in docs/benchmarks.md).
                await using var pragma = _connection.CreateCommand();
                pragma.CommandText = "PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;";
                await pragma.ExecuteNonQueryAsync(ct);
            }
        }
        return _connection;
    }

    private async Task ResetAsync()
    {
        // Statements first: a pooled SQLite connection must go back to the pool with none of them open.
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }
        _statements.Clear();
        foreach (var command in _commands.Values)
        {
            await command.DisposeAsync();
        }
        _commands.Clear();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    /// <summary>
    /// Appended to the writer's inserts on PostgreSQL only. On SQLite, <c>RETURNING</c> made SQLite gather the row in
    /// a temporary table per insert; <see cref="WriterStatement.InsertAsync"/> reads the new id from the connection
    /// instead (docs/benchmarks.md, F10).
    /// </summary>
    private string ReturningId => _db.IsSqlite ? "" : " RETURNING id";

    /// <summary>The writer's per-record inserts and updates (no readers), prepared once per connection.</summary>
    private WriterStatement Statement(string key, string sql, params string[] parameterNames)
    {
        if (!_statements.TryGetValue(key, out var statement))
        {
            statement = new WriterStatement(_connection!, sql, parameterNames);
            _statements[key] = statement;
        }
        return statement;
    }

    /// <summary>Commands are created once per connection and reused, so each statement is prepared once.</summary>
    internal DbCommand Command(string key, string sql, params string[] parameterNames)
    {
        if (_commands.TryGetValue(key, out var command))
        {
            return command;
        }
        command = CreateCommand(_connection!, sql, parameterNames);
        _commands[key] = command;
        return command;
    }

    /// <summary>A command with its parameters declared in order, so <see cref="Set"/> can fill them by position.</summary>
    internal static DbCommand CreateCommand(DbConnection connection, string sql, string[] parameterNames)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameterNames)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    internal static void Set(DbCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    public async ValueTask DisposeAsync() => await ResetAsync();
}

/// <summary>Thrown when another process wrote the same external id concurrently; the writer retries the batch.</summary>
public sealed class IngestRaceException() : Exception("A concurrent writer stored the same record; retry.");

internal sealed record CachedCustomer(long Id, string? Name, string? Email, string? Phone, string? Handle, long? ProfileAt);

public readonly record struct ResponseCell(long Day, long SiteId, long TeamId, long AgentId, string Channel, string Metric);

public readonly record struct CauseCell(long Day, long SiteId, string Metric, string RootCause);

/// <summary>A cell of <c>cause_group_rollups</c>: <paramref name="Dim"/> is "team", "agent" or "channel".</summary>
public readonly record struct CauseGroupCell(string Dim, long Day, long SiteId, string Key, string RootCause)
{
    /// <summary>The three cells one response with a cause counts in; the keys are what the Pareto report groups by.</summary>
    public static CauseGroupCell[] For(long day, long siteId, long teamId, long agentId, string channel, string rootCause) =>
    [
        new("team", day, siteId, teamId.ToString(CultureInfo.InvariantCulture), rootCause),
        new("agent", day, siteId, agentId.ToString(CultureInfo.InvariantCulture), rootCause),
        new("channel", day, siteId, channel, rootCause),
    ];
}

public readonly record struct IssueCell(long Day, long SiteId, long TeamId, long AgentId, string Channel);

/// <summary>An insert that waits to go to PostgreSQL with the commit's others (IngestStore.InsertPendingAsync).</summary>
internal abstract class PendingInsert;

/// <summary>
/// A contact's insert or its issue's, waiting to be sent; <paramref name="MustInsert"/> when inserting nothing means
/// another writer got there first. Each ends with RETURNING, so that every statement of the batch answers with a
/// result of its own and the batch's results line up with its statements.
/// </summary>
internal sealed class PendingWrite(string sql, string[] names, object?[] values, bool mustInsert) : PendingInsert
{
    public string Sql { get; } = sql;
    public string[] Names { get; } = names;
    public object?[] Values { get; } = values;
    public bool MustInsert { get; } = mustInsert;
}

/// <summary>A customer new in this commit; its profile may still change before the insert is sent.</summary>
internal sealed class PendingCustomer(CachedCustomer profile, string externalId, long createdAtMs) : PendingInsert
{
    public CachedCustomer Profile { get; set; } = profile;
    public string ExternalId { get; } = externalId;
    public long CreatedAtMs { get; } = createdAtMs;
    public long Id => Profile.Id;
}

/// <summary>A response whose outcome goes to results[Job][Item] once its insert has run.</summary>
internal sealed class PendingResponse(int job, int item, ResponseItem record, WriteScope scope, object?[] values, StoredResponse stored) : PendingInsert
{
    public int Job { get; } = job;
    public int Item { get; } = item;
    public ResponseItem Record { get; } = record;
    public WriteScope Scope { get; } = scope;
    public object?[] Values { get; } = values;
    public StoredResponse Stored { get; } = stored;

    /// <summary>Stands in a job's outcomes until the insert has run.</summary>
    public static readonly IngestOutcome Placeholder = new(IngestStatus.Invalid, 0);
}

public sealed record StoredContact(
    long Id, ContactInput Input, TextFindings? Findings, long CustomerId, long SiteId, long TeamId, long AgentId, long? IssueId, long? RepeatGapMs,
    string? SiteCode, int IssueContactCount, long IssueFirstAtMs);

public sealed record StoredResponse(
    long Id, ResponseInput Input, TextFindings? Findings, long CustomerId, long? ContactId, long SiteId, long TeamId, long AgentId, string Channel,
    long RespondedAtMs, string? SiteCode, string? TeamCode, string? AgentCode);

/// <summary>What one transaction of the writer stored, for the rollups and for observers such as the alert engine.</summary>
public sealed class IngestBatch(
    DateTimeOffset now, Func<string, string, string[], DbCommand> commands, Func<string, string, string[], WriterStatement> statements)
{
    public DateTimeOffset Now { get; } = now;

    /// <summary>
    /// A command kept on the writer's connection from batch to batch (so SQLite parses it once), for the statements
    /// an observer runs for many records. Its parameters are set in the order named, with <see cref="IngestStore.Set"/>.
    /// </summary>
    public DbCommand Command(string key, string sql, params string[] parameterNames) => commands(key, sql, parameterNames);

    /// <summary>
    /// The same for an observer's per-record statements, through <see cref="WriterStatement"/>: bound by position on
    /// SQLite (docs/benchmarks.md, F10).
    /// </summary>
    public WriterStatement Statement(string key, string sql, params string[] parameterNames) => statements(key, sql, parameterNames);

    /// <summary>Now at the millisecond precision that is stored.</summary>
    public DateTimeOffset NowMs { get; } = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
    public List<StoredContact> Contacts { get; } = [];
    public List<StoredResponse> Responses { get; } = [];

    /// <summary>Stored contacts this batch made repeats: a contact that came in late went before them in their issue.</summary>
    public List<long> NewRepeats { get; } = [];

    /// <summary>Work an observer wants done only once the transaction has committed (live pushes, waking workers).</summary>
    public List<Action> AfterCommitActions { get; } = [];
    internal Dictionary<ResponseCell, (long N, long Top, long Bottom, long Sum)> ResponseCells { get; } = [];
    internal Dictionary<IssueCell, (long Issues, long Fcr)> IssueCells { get; } = [];
    internal Dictionary<CauseCell, (long N, long Top, long Bottom)> CauseCells { get; } = [];
    internal Dictionary<CauseGroupCell, long> CauseGroupCells { get; } = [];
    internal Dictionary<(char Kind, string Code), (long Id, long SiteId)> NewOrgs { get; } = [];
    /// <summary>PostgreSQL: the inserts waiting to go to the server together, in the records' order.</summary>
    internal List<PendingInsert> Pending { get; } = [];
    internal Dictionary<string, PendingCustomer> PendingCustomers { get; } = new(StringComparer.Ordinal);
    /// <summary>Profiles (by id) whose details a newer record confirmed unchanged, and that record's time.</summary>
    internal Dictionary<long, long> ProfileTimes { get; } = [];
    /// <summary>PostgreSQL: ids drawn from the customers' sequence for the customers new in this commit.</summary>
    internal Queue<long> CustomerIds { get; } = new();
    internal Dictionary<string, CachedCustomer> NewCustomers { get; } = new(StringComparer.Ordinal);
    /// <summary>PostgreSQL: the commit's contacts that are stored (before it, or by it), by external id.</summary>
    internal Dictionary<string, (long Id, byte[] Hash, long SiteId)> KnownContacts { get; } = new(StringComparer.Ordinal);
    /// <summary>PostgreSQL: the issues the commit's contacts may touch, when it has contacts with a reason.</summary>
    internal CommitIssues? Issues { get; set; }
    /// <summary>PostgreSQL: the customers and reasons whose issue writes wait in <see cref="Pending"/>.</summary>
    internal HashSet<(long CustomerId, string Reason)> WaitingIssues { get; } = [];
    /// <summary>PostgreSQL: the contacts whose inserts wait in <see cref="Pending"/>, by external id.</summary>
    internal HashSet<string> WaitingContacts { get; } = new(StringComparer.Ordinal);
    /// <summary>PostgreSQL: ids drawn for the commit's contacts and the issues they open.</summary>
    internal Queue<long> ContactIds { get; } = new();
    internal Queue<long> IssueIds { get; } = new();
    /// <summary>The writer's transaction and the commit's outcomes, for sending the waiting writes part-way.</summary>
    internal DbTransaction? Transaction { get; set; }
    internal IngestOutcome[][]? Results { get; set; }

    public static long DayOf(long unixMilliseconds) => (long)Math.Floor(unixMilliseconds / 86_400_000d);

    internal void AddResponse(ResponseCell cell, string metric, int score, string? rootCause)
    {
        int top = MetricScales.IsTop(metric, score) ? 1 : 0, bottom = MetricScales.IsBottom(metric, score) ? 1 : 0;
        ResponseCells.TryGetValue(cell, out var c);
        ResponseCells[cell] = (c.N + 1, c.Top + top, c.Bottom + bottom, c.Sum + score);
        var causeCell = new CauseCell(cell.Day, cell.SiteId, metric, rootCause ?? "");
        CauseCells.TryGetValue(causeCell, out var k);
        CauseCells[causeCell] = (k.N + 1, k.Top + top, k.Bottom + bottom);
        if (rootCause is not null)
        {
            foreach (var groupCell in CauseGroupCell.For(cell.Day, cell.SiteId, cell.TeamId, cell.AgentId, cell.Channel, rootCause))
            {
                CollectionsMarshal.GetValueRefOrAddDefault(CauseGroupCells, groupCell, out _)++;
            }
        }
    }

    internal void AddIssue(IssueCell cell, long issues, long fcr)
    {
        IssueCells.TryGetValue(cell, out var c);
        IssueCells[cell] = (c.Issues + issues, c.Fcr + fcr);
    }
}

/// <summary>Lets other features act on stored records inside the ingest transaction (alerts) and after it commits (live push).</summary>
public interface IIngestObserver
{
    Task BeforeCommitAsync(DbConnection connection, DbTransaction transaction, IngestBatch batch, CancellationToken cancellationToken);

    void AfterCommit(IngestBatch batch);
}

public sealed class IngestOptions
{
    /// <summary>A contact about the same reason within this window is a repeat, so the first was not resolved (FCR).</summary>
    public TimeSpan RepeatWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How many items the writer commits together at most.</summary>
    public int MaxItemsPerCommit { get; set; } = 4000;
}
