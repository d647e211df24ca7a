using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Closeloop.Tests.Infrastructure;

public sealed record WebhookDelivery(string Event, string DeliveryId, string Signature, string Body)
{
    public string Timestamp { get; init; } = "";

    public string TimestampedSignature { get; init; } = "";
}

/// <summary>A real HTTP endpoint on loopback that records every webhook delivery it receives.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<WebhookDelivery> _deliveries = new();
    private Task? _loop;

    public string Url { get; private set; } = "";

    public static Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        receiver.Url = $"http://127.0.0.1:{port}/hook/";
        receiver._listener.Prefixes.Add(receiver.Url);
        receiver._listener.Start();
        receiver._loop = Task.Run(receiver.LoopAsync);
        return Task.FromResult(receiver);
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            if (Answer(body) is var status and >= 300)
            {
                Interlocked.Increment(ref _refused);
                context.Response.StatusCode = status;
                context.Response.Close();
                continue;
            }
            _deliveries.Enqueue(new WebhookDelivery(context.Request.Headers["X-Closeloop-Event"] ?? "", context.Request.Headers["X-Closeloop-Delivery"] ?? "",
                context.Request.Headers["X-Closeloop-Signature"] ?? "", body)
            {
                Timestamp = context.Request.Headers["X-Closeloop-Timestamp"] ?? "",
                TimestampedSignature = context.Request.Headers["X-Closeloop-Signature-Timestamped"] ?? "",
            });
            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    /// <summary>The status it answers a body with; one of 300 or more refuses the delivery, which is then counted in <see cref="Refused"/>.</summary>
    public Func<string, int> Answer { get; set; } = _ => 204;

    public int Refused => Volatile.Read(ref _refused);

    private int _refused;

    /// <summary>Every delivery so far, in the order received (requests are served one at a time).</summary>
    public IReadOnlyList<WebhookDelivery> Deliveries => _deliveries.ToArray();

    public async Task<WebhookDelivery?> WaitForAsync(Func<WebhookDelivery, bool> match, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (_deliveries.FirstOrDefault(match) is { } found)
            {
                return found;
            }
            await Task.Delay(50);
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        if (_loop is not null)
        {
            await _loop;
        }
    }
}
