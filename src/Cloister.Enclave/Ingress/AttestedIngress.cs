using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// <c>tls: attested</c> ingress: one Kestrel server listening on the enclave's vsock port P of every attested manifest
/// port. Each connection: the host's PROXY v2 header (the client's address), then TLS terminated here with an attested
/// certificate (HTTP/1.1 or HTTP/2 by ALPN), then <c>/.well-known/attestation</c> answered here and everything else
/// forwarded to the app on 127.0.0.1:app_port. Handshakes run concurrently, each bounded by a timeout, so a slow client
/// holds up nobody.
/// </summary>
internal sealed class AttestedIngress : IAsyncDisposable
{
    /// <summary>The most bytes of request headers a client may send (HTTP/1.1 and HTTP/2), answered 431 beyond.</summary>
    public const int MaxRequestHeadersTotalSize = 32 * 1024;

    /// <summary>The longest HTTP/1.1 request line, answered 414 beyond.</summary>
    public const int MaxRequestLineSize = 8 * 1024;

    private readonly WebApplication _server;
    private readonly IReadOnlyList<AttestedPort> _ports;
    private readonly IssuanceGuard _guard;
    private readonly AppForwarder _forwarder;

    private AttestedIngress(WebApplication server, IReadOnlyList<AttestedPort> ports, IssuanceGuard guard, AppForwarder forwarder)
    {
        _server = server;
        _ports = ports;
        _guard = guard;
        _forwarder = forwarder;
    }

    /// <summary>The ports served, with their current base certificates.</summary>
    public IReadOnlyList<AttestedPort> Ports => _ports;

    /// <summary>Makes every port's base certificate, then binds every port; any failure stops what was started and is thrown.</summary>
    /// <param name="ports">The manifest's <c>tls: attested</c> ports.</param>
    /// <exception cref="SupervisorStartupException">The issuing limits are out of range or a port's hostname is not one a
    /// certificate can carry (<see cref="StartupFailure.Configuration"/>); the NSM is unreachable, refused or answered
    /// garbage (<see cref="StartupFailure.Platform"/>).</exception>
    /// <exception cref="IOException">A vsock port could not be bound.</exception>
    public static async Task<AttestedIngress> StartAsync(VsockTransport transport, IReadOnlyList<IngressPort> ports, AttestedIngressOptions options, Func<string, Task> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Limits.FindError() is { } error)
        {
            throw new SupervisorStartupException(StartupFailure.Configuration, $"attested ingress: limits: {error}");
        }

        var guard = new IssuanceGuard(options.Limits, options.TimeProvider, log);
        var forwarder = new AppForwarder(options.AppResponseTimeout);
        var started = new List<AttestedPort>(ports.Count);
        try
        {
            foreach (var port in ports)
            {
                started.Add(await AttestedPort.StartAsync(port, options, guard, log, cancellationToken));
            }

            var server = await StartServerAsync(transport, started, options, forwarder, cancellationToken);
            return new AttestedIngress(server, started, guard, forwarder);
        }
        catch
        {
            await DisposeAllAsync(started, guard, forwarder);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        await DisposeAllAsync(_ports, _guard, _forwarder);
    }

    private static async Task<WebApplication> StartServerAsync(VsockTransport transport, IReadOnlyList<AttestedPort> ports, AttestedIngressOptions options, AppForwarder forwarder, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton<IConnectionListenerFactory>(new VsockConnectionListenerFactory(transport));
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The app decides what it accepts; a proxy that cuts bodies short would only be a second, different limit.
            kestrel.Limits.MaxRequestBodySize = null;
            // Headers and the request line are the proxy's to parse, so their bounds are ours: Kestrel's defaults, as an
            // app's Kestrel has them, answered 431 and 414 (and lingering, so the client reads the answer).
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalSize;
            kestrel.Limits.MaxRequestLineSize = MaxRequestLineSize;
            foreach (var port in ports)
            {
                kestrel.Listen(new VsockEndpoint(transport.LocalCid, (uint)port.Settings.Port), listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.Use(next => new ProxyHeaderMiddleware(next, port).OnConnectionAsync);
                    listen.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = AttestedPort.SelectCertificateAsync,
                        OnConnectionState = port,
                        HandshakeTimeout = options.HandshakeTimeout,
                    });
                    listen.Use(next => new LingeringClose(next).OnConnectionAsync);
                });
            }
        });
        var server = builder.Build();
        server.Run(async context =>
        {
            var port = context.Features.GetRequiredFeature<AttestedPort>();
            try
            {
                await (context.Request.Path.Equals(AttestationEndpoint.Path, StringComparison.Ordinal)
                    ? AttestationEndpoint.HandleAsync(context, port)
                    : forwarder.ForwardAsync(context, port.Settings.AppPort));
            }
            finally
            {
                LingeringClose.RequestEnded(context);
            }
        });
        try
        {
            await server.StartAsync(cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    private static async Task DisposeAllAsync(IEnumerable<AttestedPort> ports, IssuanceGuard guard, AppForwarder forwarder)
    {
        foreach (var port in ports)
        {
            await port.DisposeAsync();
        }

        await guard.DisposeAsync();
        forwarder.Dispose();
    }
}
