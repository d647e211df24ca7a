using System.Collections.Concurrent;
using System.Data.Common;
using Closeloop.Data;

namespace Closeloop.Alerts;

/// <summary>Each site's business calendar, cached; a site change clears the cache.</summary>
public sealed class SiteCalendars
{
    private readonly ConcurrentDictionary<long, BusinessCalendar> _cache = new();

    public void Invalidate() => _cache.Clear();

    public async Task<BusinessCalendar> ForSiteAsync(DbConnection connection, DbTransaction? transaction, long siteId, CancellationToken ct)
    {
        if (_cache.TryGetValue(siteId, out var calendar))
        {
            return calendar;
        }
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT time_zone, business_hours, holidays FROM sites WHERE id = @id";
        Migrator.AddParameter(command, "@id", siteId);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            calendar = await reader.ReadAsync(ct)
                ? BusinessCalendar.For(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2))
                : BusinessCalendar.For("UTC", null, null);
        }
        _cache[siteId] = calendar;
        return calendar;
    }
}
