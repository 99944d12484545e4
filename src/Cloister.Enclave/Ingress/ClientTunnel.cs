using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// A client's request for a tunnel to the app, which the app always sees as an HTTP/1.1 <c>Upgrade</c>: an HTTP/1.1
/// <c>Upgrade</c> request passes as it is; an HTTP/2 extended CONNECT (RFC 8441, WebSockets over HTTP/2) becomes a
/// <c>GET</c> with <c>Upgrade: &lt;protocol&gt;</c> (and, for WebSockets, the <c>Sec-WebSocket-Key</c> an HTTP/2 client
/// never sends), and the app's 101 becomes the 200 that accepts an HTTP/2 tunnel.
/// </summary>
internal sealed class ClientTunnel
{
    private readonly IHttpUpgradeFeature? _upgrade;
    private readonly IHttpExtendedConnectFeature? _connect;

    private ClientTunnel(IHttpUpgradeFeature? upgrade, IHttpExtendedConnectFeature? connect, StringValues protocol)
    {
        _upgrade = upgrade;
        _connect = connect;
        Protocol = protocol;
    }

    /// <summary>What the app's <c>Upgrade</c> header names.</summary>
    public StringValues Protocol { get; }

    /// <summary>The tunnel the request asks for, or <see langword="null"/> for an ordinary request.</summary>
    public static ClientTunnel? From(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            return new ClientTunnel(upgrade, null, context.Request.Headers.Upgrade);
        }

        return context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true, Protocol: { } protocol } connect
            ? new ClientTunnel(null, connect, protocol)
            : null;
    }

    /// <summary>The method the app gets: an extended CONNECT's tunnel opens with a GET in HTTP/1.1.</summary>
    public HttpMethod AppMethod(HttpRequest incoming) => _connect is null ? HttpMethod.Parse(incoming.Method) : HttpMethod.Get;

    /// <summary>Adds <c>Connection: Upgrade</c>, <c>Upgrade</c>, and for an HTTP/2 WebSocket a fresh <c>Sec-WebSocket-Key</c>.</summary>
    public void AddUpgradeHeaders(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
        request.Headers.TryAddWithoutValidation("Upgrade", (IEnumerable<string?>)Protocol);
        if (_connect is not null && !request.Headers.Contains("Sec-WebSocket-Key"))
        {
            request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));
        }
    }

    /// <summary>Whether the app's hop-by-hop response header <paramref name="name"/> still reaches the client: an HTTP/1.1 101 keeps its <c>Upgrade</c>.</summary>
    public bool PassesResponseHeader(string name) => _connect is null && name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the app's response header <paramref name="name"/> is one an HTTP/2 tunnel's 200 must not carry.</summary>
    public bool DropsResponseHeader(string name) =>
        _connect is not null && name.Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase);

    /// <summary>Accepts the tunnel towards the client (101 in HTTP/1.1, 200 in HTTP/2) and returns its stream.</summary>
    public async Task<Stream> AcceptAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_connect is null)
        {
            return await (_upgrade ?? throw new InvalidOperationException("a tunnel is an upgrade or an extended CONNECT")).UpgradeAsync();
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        return await _connect.AcceptAsync();
    }
}
