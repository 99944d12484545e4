using System.Net.Security;
using System.Security.Authentication;
using Cloister.Attestation.Certificates;
using Cloister.Runtime.Logging;
using Cloister.Runtime.Manifest;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// One <c>tls: attested</c> port: its manifest entry, its certificates (the rotating base one and the nonce factory), and
/// the guard it shares with the others. Attached to each of its connections as a feature.
/// </summary>
internal sealed class AttestedPort : IAsyncDisposable
{
    /// <summary>The SAN a port without hostnames gets: clients reach it through a local tunnel or by address.</summary>
    public const string DefaultHostname = "localhost";

    private AttestedPort(IngressPort settings, AttestedCertificateFactory certificates, BaseCertificateRotation baseCertificate, IssuanceGuard guard, LogThrottle connectionErrors)
    {
        Settings = settings;
        Certificates = certificates;
        Base = baseCertificate;
        Guard = guard;
        ConnectionErrors = connectionErrors;
    }

    public IngressPort Settings { get; }

    /// <summary>"ingress P", as log lines name the port.</summary>
    public string Name => $"ingress {Settings.Port}";

    public AttestedCertificateFactory Certificates { get; }

    public BaseCertificateRotation Base { get; }

    public IssuanceGuard Guard { get; }

    /// <summary>Where broken connections (bad PROXY headers, failed issues) are logged, throttled.</summary>
    public LogThrottle ConnectionErrors { get; }

    /// <summary>Makes the port's first base certificate and starts its rotation.</summary>
    /// <exception cref="SupervisorStartupException">A hostname is not one a certificate can carry (<see cref="StartupFailure.Configuration"/>),
    /// or the NSM is unreachable, refused, or answered a document that does not decode (<see cref="StartupFailure.Platform"/>);
    /// the message names the port.</exception>
    public static async Task<AttestedPort> StartAsync(IngressPort settings, AttestedIngressOptions options, IssuanceGuard guard, Func<string, Task> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        var name = $"ingress {settings.Port}";
        var hostnames = settings.Hostnames.Count > 0 ? settings.Hostnames : [DefaultHostname];
        var certificates = new AttestedCertificateFactory(options.Nsm, options.Issuer, hostnames, options.TimeProvider);
        BaseCertificateRotation baseCertificate;
        try
        {
            baseCertificate = await BaseCertificateRotation.StartAsync(certificates, options.TimeProvider, log, name, cancellationToken);
        }
        catch (ArgumentException ex)
        {
            throw new SupervisorStartupException(StartupFailure.Configuration, $"{name}: hostnames: {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new SupervisorStartupException(StartupFailure.Platform, $"{name}: no base certificate: {ex.Message}", ex);
        }

        return new AttestedPort(settings, certificates, baseCertificate, guard, new LogThrottle(log, options.Limits.LogInterval, options.TimeProvider));
    }

    /// <summary>
    /// Kestrel's per-connection TLS callback: the base certificate's prepared options, or, for an SNI of the form
    /// <c>&lt;base64 nonce&gt;.attest.&lt;host&gt;</c>, a fresh certificate whose document carries that nonce (never
    /// cached; refused, failing the handshake, when the guard says so).
    /// </summary>
    /// <exception cref="AuthenticationException">The nonce certificate was refused or could not be made.</exception>
    public static async ValueTask<SslServerAuthenticationOptions> SelectCertificateAsync(TlsHandshakeCallbackContext context)
    {
        var port = context.State as AttestedPort ?? throw new InvalidOperationException("the TLS callback was registered without its port");
        if (!NonceHostName.TryParse(context.ClientHelloInfo.ServerName, out var nonce, out _))
        {
            return port.Base.Current.TlsOptions;
        }

        ServedCertificate served;
        using (var slot = await port.Guard.EnterAsync($"{port.Name}: a nonce certificate for {context.Connection.RemoteEndPoint}", context.CancellationToken))
        {
            if (slot.Refusal is { } refusal)
            {
                throw new AuthenticationException($"{port.Name}: nonce certificate refused: {refusal}");
            }

            try
            {
                served = await port.Certificates.IssueAsync(nonce, context.CancellationToken);
            }
            catch (IOException ex)
            {
                await port.ConnectionErrors.WriteAsync($"{port.Name}: a nonce certificate could not be made: {ex.Message}");
                throw new AuthenticationException($"{port.Name}: nonce certificate failed: {ex.Message}", ex);
            }
        }

        // The certificate lives exactly as long as the connection it was made for.
        context.Connection.ConnectionClosed.Register(static certificate => (certificate as IDisposable)?.Dispose(), served.Certificate);
        return new SslServerAuthenticationOptions { ServerCertificateContext = served.CreateContext(), ApplicationProtocols = BaseCertificate.ApplicationProtocols };
    }

    public async ValueTask DisposeAsync()
    {
        await Base.DisposeAsync();
        await ConnectionErrors.DisposeAsync();
    }
}
