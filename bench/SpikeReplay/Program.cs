using System.Globalization;
using Closeloop.Insights;

// Replays synthetic cause series through the spike detector exactly as RecurringCauseWorker runs it: every
// 5 minutes, the last 24 hours against the EWMA of the 28 windows before. Each series has a daily rate, weekly
// seasonality (weekdays 1.2×, weekends 0.5×) and day-to-day overdispersion (a gamma-distributed multiplier with a
// 25% coefficient of variation), as real contact-center volumes have. A rise multiplies the rate from a random
// instant on day 42. Reported: how many of the cause's records arrived after the rise began before the detector
// fired (the delay), the hours that took, how often it fired within 48 hours, and false alarms per cause-month
// on the same series with no rise.
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 300;
var settings = new SpikeSettings();
const int Days = 60, RiseDay = 42, Step = 5, StepsPerDay = 24 * 60 / Step;
Console.WriteLine($"Spike detector replay: {runs} series per row, evaluated every {Step} min; settings {settings}");
Console.WriteLine();
Console.WriteLine("| normal rate / day | rise | detected ≤ 48 h | delay, records (median / p90) | delay, hours (median / p90) | false alarms per cause-month (no rise) |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
foreach (var rate in new[] { 3.0, 10.0, 30.0, 100.0 })
{
    foreach (var multiplier in new[] { 1.5, 2.0, 3.0, 5.0 })
    {
        var delays = new List<int>();
        var hours = new List<double>();
        var falseAlarmDays = 0;
        var judgedDays = 0;
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(run * 7919 + (int)(rate * 100) + (int)(multiplier * 10));
            var riseAt = RiseDay * StepsPerDay + random.Next(StepsPerDay);
            var withRise = Simulate(random, rate, multiplier, riseAt);
            var (fired, firedStep) = FirstFire(withRise, riseAt, settings);
            if (fired && firedStep - riseAt <= 2 * StepsPerDay)
            {
                delays.Add(withRise.Skip(riseAt).Take(firedStep - riseAt + 1).Sum());
                hours.Add((firedStep - riseAt + 1) * Step / 60.0);
            }
            if (multiplier == 1.5)
            {
                // The null series: same random process, no rise; a fire on any day from day 29 on is a false alarm.
                var plain = Simulate(new Random(run * 104729 + (int)rate), rate, 1, int.MaxValue);
                var (days, alarms) = FalseAlarms(plain, settings);
                judgedDays += days;
                falseAlarmDays += alarms;
            }
        }
        delays.Sort();
        hours.Sort();
        string Pct(List<int> l, double p) => l.Count == 0 ? "–" : l[(int)Math.Min(l.Count - 1, Math.Floor(p * l.Count))].ToString(CultureInfo.InvariantCulture);
        string PctH(List<double> l, double p) => l.Count == 0 ? "–" : l[(int)Math.Min(l.Count - 1, Math.Floor(p * l.Count))].ToString("0.0", CultureInfo.InvariantCulture);
        var falseAlarms = multiplier == 1.5 ? (30.0 * falseAlarmDays / judgedDays).ToString("0.000", CultureInfo.InvariantCulture) : "";
        Console.WriteLine($"| {rate} | {multiplier}× | {100.0 * delays.Count / runs:0}% | {Pct(delays, 0.5)} / {Pct(delays, 0.9)} | {PctH(hours, 0.5)} / {PctH(hours, 0.9)} | {falseAlarms} |");
    }
}

// Records per 5-minute step for one series.
static int[] Simulate(Random random, double rate, double multiplier, int riseAt)
{
    var counts = new int[Days * StepsPerDay];
    for (var day = 0; day < Days; day++)
    {
        var weekday = day % 7 is 5 or 6 ? 0.5 : 1.2;
        var dayFactor = Gamma(random, 16) / 16; // mean 1, CV 0.25
        for (var s = 0; s < StepsPerDay; s++)
        {
            var step = day * StepsPerDay + s;
            // Most contacts arrive in the daytime: a smooth daily curve peaking at 14:00.
            var hour = s * Step / 60.0;
            var daily = 1 + 0.8 * Math.Cos((hour - 14) / 24 * 2 * Math.PI);
            var lambda = rate * weekday * dayFactor * daily / StepsPerDay * (step >= riseAt ? multiplier : 1);
            counts[step] = Poisson(random, lambda);
        }
    }
    return counts;
}

static (bool Fired, int Step) FirstFire(int[] counts, int from, SpikeSettings settings)
{
    for (var step = from; step < counts.Length; step++)
    {
        if (Judge(counts, step, settings))
        {
            return (true, step);
        }
    }
    return (false, -1);
}

static (int Days, int Alarms) FalseAlarms(int[] counts, SpikeSettings settings)
{
    int days = 0, alarms = 0;
    for (var day = settings.HistoryWindows + 1; day < Days; day++)
    {
        days++;
        for (var s = 0; s < StepsPerDay; s++)
        {
            if (Judge(counts, day * StepsPerDay + s, settings))
            {
                alarms++; // at most one cause alert per cause and day, as the product raises
                break;
            }
        }
    }
    return (days, alarms);
}

// The 24 hours ending after this step, against the 28 windows of 24 hours before them.
static bool Judge(int[] counts, int step, SpikeSettings settings)
{
    var end = step + 1;
    var windows = Math.Min(settings.HistoryWindows, end / StepsPerDay - 1);
    if (windows < settings.MinHistoryWindows)
    {
        return false;
    }
    var history = new long[windows];
    for (var w = 0; w < windows; w++)
    {
        var to = end - (windows - w) * StepsPerDay;
        history[w] = Sum(counts, to - StepsPerDay, to);
    }
    return SpikeDetector.Evaluate(history, Sum(counts, end - StepsPerDay, end), settings).Rise;
}

static long Sum(int[] counts, int from, int to)
{
    long sum = 0;
    for (var i = Math.Max(0, from); i < to; i++)
    {
        sum += counts[i];
    }
    return sum;
}

static int Poisson(Random random, double lambda)
{
    // Knuth's method is exact and fast for the small per-step rates here.
    var limit = Math.Exp(-lambda);
    var k = 0;
    var p = random.NextDouble();
    while (p > limit)
    {
        k++;
        p *= random.NextDouble();
    }
    return k;
}

static double Gamma(Random random, double shape)
{
    // Marsaglia and Tsang's method (shape ≥ 1).
    var d = shape - 1.0 / 3;
    var c = 1 / Math.Sqrt(9 * d);
    while (true)
    {
        double x, v;
        do
        {
            var u1 = 1 - random.NextDouble();
            var u2 = random.NextDouble();
            x = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            v = 1 + c * x;
        }
        while (v <= 0);
        v = v * v * v;
        var u = random.NextDouble();
        if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v))
        {
            return d * v;
        }
    }
}
