using System.Net;
using System.Net.Sockets;

namespace Closeloop.Notifications;

/// <summary>
/// Where a webhook may be delivered. Loopback and private addresses stay allowed: a self-hosted product posts to the
/// CRM next door. Link-local addresses are refused (169.254.0.0/16, fe80::/10): that is where cloud instance metadata
/// and its credentials live, which an admin account or a stolen admin key must not be able to read through a
/// webhook. The check runs on the address actually connected to, after DNS, and redirects are not followed, so a
/// name or a redirect cannot lead there either. <c>Webhooks:AllowLinkLocal</c> lifts it.
/// </summary>
public static class WebhookNetwork
{
    public const string Refusal = "a link-local address (169.254.0.0/16 or fe80::/10, where cloud instance metadata lives) is refused";

    public static bool AllowsLinkLocal(IConfiguration configuration) => configuration.GetValue("Webhooks:AllowLinkLocal", false);

    public static bool IsRefused(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return address.AddressFamily == AddressFamily.InterNetwork
            ? address.GetAddressBytes() is [169, 254, ..]
            : address.IsIPv6LinkLocal;
    }

    public static SocketsHttpHandler Handler(bool allowLinkLocal) => new()
    {
        AllowAutoRedirect = false,
        ConnectCallback = async (context, ct) =>
        {
            var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
            var allowed = allowLinkLocal ? addresses : addresses.Where(a => !IsRefused(a)).ToArray();
            if (allowed.Length == 0)
            {
                throw new HttpRequestException($"Not delivered to {context.DnsEndPoint.Host}: {Refusal}.");
            }
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
