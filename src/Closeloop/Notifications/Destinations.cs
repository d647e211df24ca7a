namespace Closeloop.Notifications;

/// <summary>
/// Which destinations (the SMTP server, each webhook subscription) are down, as this process has seen them. A failure
/// that says the destination itself is unreachable or failing, not the one message, takes it out of the delivery
/// passes until its next try, with exponential backoff, and that try sends one message (the probe) while the others
/// wait for its outcome. So the messages waiting for a destination stay in the outbox untried instead of each failing
/// on its own schedule, and the log says once that it went down and once that it came back, not once per message and
/// attempt (a server with no SMTP relay would otherwise log every alert's e-mail every few seconds).
/// </summary>
public sealed class Destinations
{
    public const string Smtp = "smtp";

    /// <summary>A probe that never reported back (its pass was stopped) no longer holds its destination after this.</summary>
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Outage> _down = new(StringComparer.Ordinal);

    /// <summary>A destination's outage so far: since when, when it is tried next, how many tries failed in a row.</summary>
    public sealed record Outage(DateTimeOffset Since, DateTimeOffset NextTry, int Failures, DateTimeOffset? ProbeSince = null)
    {
        public bool Holds(DateTimeOffset now) => NextTry > now || (ProbeSince is { } probe && now - probe < ProbeTimeout);
    }

    /// <summary>The destinations whose messages are not to be claimed at <paramref name="now"/>.</summary>
    public IReadOnlyList<string> DownAt(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _down.Where(d => d.Value.Holds(now)).Select(d => d.Key).ToList();
        }
    }

    /// <summary>
    /// True when a message may be sent to the destination now: always while it is up; while it is down, one message
    /// once its next try is due, the probe, whose delivery or failure is reported with <see cref="Delivered"/> or
    /// <see cref="Failed"/>.
    /// </summary>
    public bool TryTake(string destination, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!_down.TryGetValue(destination, out var outage))
            {
                return true;
            }
            if (outage.Holds(now))
            {
                return false;
            }
            _down[destination] = outage with { ProbeSince = now };
            return true;
        }
    }

    /// <summary>
    /// Records a failed send and returns the destination's outage, its next try <paramref name="backoff"/> of the
    /// tries that failed in a row from now. <c>Known</c> is true when the send was not a try of its own: a send that
    /// started beside the one that found the destination down (a pass serves several recipients at once) fails too,
    /// and leaves the outage as it was.
    /// </summary>
    public (Outage Outage, bool Known) Failed(string destination, DateTimeOffset now, Func<int, TimeSpan> backoff)
    {
        lock (_gate)
        {
            if (_down.TryGetValue(destination, out var known) && (known.NextTry > now || known.ProbeSince is null))
            {
                return (known, true);
            }
            var failures = (known?.Failures ?? 0) + 1;
            var outage = new Outage(known?.Since ?? now, now + backoff(failures), failures);
            _down[destination] = outage;
            return (outage, false);
        }
    }

    /// <summary>Every destination that has failed since it last delivered, with its outage.</summary>
    public IReadOnlyDictionary<string, Outage> Outages()
    {
        lock (_gate)
        {
            return new Dictionary<string, Outage>(_down, StringComparer.Ordinal);
        }
    }

    /// <summary>Records a delivery; returns the outage it ends, if the destination was down.</summary>
    public Outage? Delivered(string destination)
    {
        lock (_gate)
        {
            return _down.Remove(destination, out var outage) ? outage : null;
        }
    }
}
