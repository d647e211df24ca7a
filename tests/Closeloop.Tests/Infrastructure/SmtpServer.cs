using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Closeloop.Tests.Infrastructure;

/// <summary>
/// A real SMTP server (Debian's python3-aiosmtpd) on a loopback port, writing each message it accepts into a
/// Maildir. It can be stopped and started again on the same port, to test that the outbox waits and retries.
/// </summary>
public sealed class SmtpServer : IDisposable
{
    private Process? _process;

    public SmtpServer()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        Maildir = Path.Combine(Path.GetTempPath(), $"closeloop-mail-{Guid.NewGuid():N}");
        foreach (var folder in new[] { "tmp", "new", "cur" })
        {
            Directory.CreateDirectory(Path.Combine(Maildir, folder));
        }
        Start();
    }

    public int Port { get; }

    public string Maildir { get; }

    public void Start()
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "aiosmtpd.handlers.Mailbox", Maildir })
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("Could not start aiosmtpd (apt-get install python3-aiosmtpd).");
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException("aiosmtpd exited: " + _process.StandardError.ReadToEnd());
            }
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new TimeoutException("aiosmtpd did not start listening.");
    }

    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>Every message received so far, as raw text.</summary>
    public IReadOnlyList<string> Messages()
    {
        var folder = Path.Combine(Maildir, "new");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Select(File.ReadAllText).ToList() : [];
    }

    /// <summary>Waits (bounded) until a condition on the received messages holds, since delivery is asynchronous.</summary>
    public async Task<IReadOnlyList<string>> WaitForAsync(Func<IReadOnlyList<string>, bool> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var messages = Messages();
            if (condition(messages) || DateTime.UtcNow > deadline)
            {
                return messages;
            }
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        Stop();
        try
        {
            Directory.Delete(Maildir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover folder in /tmp is not worth failing a test for.
        }
    }
}
