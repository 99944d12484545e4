using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Enclave.SelfTest;

/// <summary>
/// A TLS 1.3 handshake between two <see cref="SslStream"/>s in this process, which is what makes .NET dlopen libssl.
/// The transport is an abstract Unix socket: it needs neither a writable file system nor a loopback interface
/// (an enclave's <c>lo</c> is down until someone brings it up).
/// </summary>
internal static class SelfTlsHandshake
{
    private const string HostName = "self-test.cloister.invalid";
    private const int PayloadBytes = 64;

    public static async Task<TlsCheck> RunAsync(CancellationToken cancellationToken)
    {
        using var certificate = CreateServerCertificate();
        var pinnedHash = certificate.GetCertHash(HashAlgorithmName.SHA256);

        // A leading NUL puts the name in the abstract namespace; the PID keeps concurrent self-tests apart.
        var endPoint = new UnixDomainSocketEndPoint(string.Create(CultureInfo.InvariantCulture, $"\0cloister-self-test-{Environment.ProcessId}"));
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endPoint);
        listener.Listen(1);
        using var clientSocket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await clientSocket.ConnectAsync(endPoint, cancellationToken);
        using var serverSocket = await listener.AcceptAsync(cancellationToken);

        await using var server = new SslStream(new NetworkStream(serverSocket, ownsSocket: false));
        await using var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: false));
        var serverOptions = new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            EnabledSslProtocols = SslProtocols.Tls13,
        };
        var clientOptions = new SslClientAuthenticationOptions
        {
            TargetHost = HostName,
            EnabledSslProtocols = SslProtocols.Tls13,
            // Pinning, not chain building: the certificate was made a moment ago and no trust store is assumed to exist.
            RemoteCertificateValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(pinnedHash),
        };
        await Task.WhenAll(
            server.AuthenticateAsServerAsync(serverOptions, cancellationToken),
            client.AuthenticateAsClientAsync(clientOptions, cancellationToken));

        var echoed = await EchoAsync(client, server, cancellationToken);
        return new TlsCheck(
            client.SslProtocol.ToString(),
            client.NegotiatedCipherSuite.ToString(),
            Convert.ToHexStringLower(pinnedHash),
            echoed);
    }

    private static async Task<int> EchoAsync(SslStream client, SslStream server, CancellationToken cancellationToken)
    {
        var sent = RandomNumberGenerator.GetBytes(PayloadBytes);
        await client.WriteAsync(sent, cancellationToken);
        var atServer = new byte[PayloadBytes];
        await server.ReadExactlyAsync(atServer, cancellationToken);
        await server.WriteAsync(atServer, cancellationToken);
        var back = new byte[PayloadBytes];
        await client.ReadExactlyAsync(back, cancellationToken);
        return back.AsSpan().SequenceEqual(sent)
            ? back.Length
            : throw new CryptographicException("TLS self-test: the echoed payload differs from what was sent");
    }

    private static X509Certificate2 CreateServerCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={HostName}", key, HashAlgorithmName.SHA384);
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddMinutes(5));
    }
}
