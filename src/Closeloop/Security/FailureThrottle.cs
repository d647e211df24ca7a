using System.Collections.Concurrent;

namespace Closeloop.Security;

/// <summary>
/// Counts failures (wrong passwords, unknown API keys) per client address in fixed windows and says when an address
/// has had too many: it then gets 429 until its window ends, without its attempts being checked. The per-account
/// lockout stops guessing one password; this stops one address trying many accounts or keys. Successes cost nothing.
/// </summary>
public class FailureThrottle(int limit, TimeSpan window, TimeProvider time)
{
    private const int MaxTracked = 50_000;
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);

    // When the last throttle of any address ends: until some address is throttled, a request pays one clock read
    // here, not its address's string and a dictionary lookup (the API key check runs on every ingest request).
    private long _anyThrottledUntilTicks;

    private sealed class Counter
    {
        public DateTimeOffset Start;
        public int Count;
    }

    public int Limit => limit;

    /// <summary>Whether any address is throttled now; when not, <see cref="RetryAfter"/> need not be asked.</summary>
    public bool AnyThrottled => time.GetUtcNow().UtcTicks < Interlocked.Read(ref _anyThrottledUntilTicks);

    /// <summary>How long the address must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(string address)
    {
        if (!_counters.TryGetValue(address, out var counter))
        {
            return null;
        }
        var now = time.GetUtcNow();
        lock (counter)
        {
            var end = counter.Start + window;
            return counter.Count >= limit && end > now ? end - now : null;
        }
    }

    public void Failed(string address)
    {
        var now = time.GetUtcNow();
        if (_counters.Count >= MaxTracked)
        {
            // Addresses whose window has ended are forgotten, so a spray from many addresses cannot grow this without bound.
            foreach (var (key, old) in _counters)
            {
                if (old.Start + window <= now)
                {
                    _counters.TryRemove(key, out _);
                }
            }
        }
        var counter = _counters.GetOrAdd(address, _ => new Counter { Start = now });
        lock (counter)
        {
            if (counter.Start + window <= now)
            {
                counter.Start = now;
                counter.Count = 0;
            }
            counter.Count++;
            if (counter.Count >= limit)
            {
                var end = (counter.Start + window).UtcTicks;
                long seen;
                while ((seen = Interlocked.Read(ref _anyThrottledUntilTicks)) < end && Interlocked.CompareExchange(ref _anyThrottledUntilTicks, end, seen) != seen)
                {
                }
            }
        }
    }

    public static string AddressOf(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}

/// <summary>
/// Failed sign-ins on /login: per client address (<c>SignIn:MaxFailuresPerAddress</c> in 5 minutes, default 30), and
/// per e-mail address that has no account, which "locks" after as many tries as a real account does, so the answers
/// do not tell which addresses have accounts.
/// </summary>
public sealed class SignInThrottle(IConfiguration configuration, TimeProvider time)
{
    public FailureThrottle Addresses { get; } = new(configuration.GetValue("SignIn:MaxFailuresPerAddress", 30), TimeSpan.FromMinutes(5), time);

    public FailureThrottle UnknownAccounts { get; } = new(People.User.MaxFailedLogins, People.User.LockoutDuration, time);
}

/// <summary>Unknown or revoked API keys per client address (<c>ApiKeys:MaxFailuresPerAddress</c> a minute, default 60).</summary>
public sealed class ApiKeyThrottle(IConfiguration configuration, TimeProvider time)
    : FailureThrottle(configuration.GetValue("ApiKeys:MaxFailuresPerAddress", 60), TimeSpan.FromMinutes(1), time);
