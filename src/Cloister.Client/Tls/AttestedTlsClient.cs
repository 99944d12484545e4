using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Cloister.Attestation.Certificates;

namespace Cloister.Client.Tls;

/// <summary>One-shot attested TLS connections: connect, handshake, attest the server during the handshake.</summary>
public static class AttestedTlsClient
{
    /// <summary>The length of the nonces <see cref="CreateNonce"/> makes: 32 random bytes.</summary>
    public const int DefaultNonceLength = 32;

    /// <summary>A fresh random nonce of <see cref="DefaultNonceLength"/> bytes, for asking a server for a fresh document.</summary>
    /// <returns>The nonce.</returns>
    public static byte[] CreateNonce() => RandomNumberGenerator.GetBytes(DefaultNonceLength);

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/> and completes an attested TLS handshake.</summary>
    /// <param name="host">The server's host name or address; also the name the certificate is checked against.</param>
    /// <param name="port">The TCP port.</param>
    /// <param name="verifier">What to require of the server.</param>
    /// <param name="nonce">A nonce for a fresh document (<see cref="CreateNonce"/>), or <see langword="null"/>.</param>
    /// <param name="timeouts">
    /// <see cref="ClientTimeouts.Connect"/> bounds the TCP connect and TLS handshake together;
    /// <see cref="ClientTimeouts.Default"/> when <see langword="null"/>. Reads and writes on the returned stream are the
    /// caller's to bound (a cancellation token, or <see cref="Stream.ReadTimeout"/> for synchronous reads).
    /// </param>
    /// <param name="cancellationToken">Cancels the connection and handshake.</param>
    /// <returns>The attested connection; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> or <paramref name="verifier"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty or the nonce is empty or too long.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not 1–65535.</exception>
    /// <exception cref="AttestedTlsException">The server failed attestation; <see cref="AttestedTlsException.Result"/> says why.</exception>
    /// <exception cref="SocketException">The host cannot be resolved or reached.</exception>
    /// <exception cref="AuthenticationException">The TLS handshake failed for a reason other than attestation.</exception>
    /// <exception cref="IOException">The connection broke during the handshake.</exception>
    /// <exception cref="NetworkTimeoutException">The connect or the handshake exceeded <see cref="ClientTimeouts.Connect"/> (<see cref="NetworkStep.Connect"/> or <see cref="NetworkStep.TlsHandshake"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<AttestedTlsConnection> ConnectAsync(
        string host, int port, AttestedTlsVerifier verifier, byte[]? nonce = null, ClientTimeouts? timeouts = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var validation = new AttestedTlsValidation(verifier, host, nonce);
        var connectTimeout = (timeouts ?? ClientTimeouts.Default).Connect;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(connectTimeout);
        var client = new TcpClient();
        SslStream? stream = null;
        try
        {
            await client.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
            stream = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await stream.AuthenticateAsClientAsync(validation.CreateOptions(), deadline.Token).ConfigureAwait(false);
            return new AttestedTlsConnection(stream, validation.Result!);
        }
        catch (Exception ex)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            client.Dispose();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var step = stream is null ? NetworkStep.Connect : NetworkStep.TlsHandshake;
                throw new NetworkTimeoutException(step, NetworkTimeoutException.FormatEndpoint(host, port), connectTimeout, ex);
            }

            throw;
        }
    }

    /// <summary>
    /// Connects, attests the server and disconnects: the verdict, whether it passed or not. Failures that are not
    /// about attestation (unreachable host, a TLS error) are thrown.
    /// </summary>
    /// <param name="host">The server's host name or address.</param>
    /// <param name="port">The TCP port.</param>
    /// <param name="verifier">What to require of the server.</param>
    /// <param name="nonce">A nonce for a fresh document, or <see langword="null"/>.</param>
    /// <param name="timeouts"><see cref="ClientTimeouts.Connect"/> bounds the TCP connect and TLS handshake together; <see cref="ClientTimeouts.Default"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the connection and handshake.</param>
    /// <returns>Success with the document, or the reason the server was refused.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="host"/> or <paramref name="verifier"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty or the nonce is empty or too long.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is not 1–65535.</exception>
    /// <exception cref="AttestedTlsException">The server presented no certificate (no verdict to return).</exception>
    /// <exception cref="SocketException">The host cannot be resolved or reached.</exception>
    /// <exception cref="AuthenticationException">The TLS handshake failed for a reason other than attestation.</exception>
    /// <exception cref="IOException">The connection broke during the handshake.</exception>
    /// <exception cref="NetworkTimeoutException">The connect or the handshake exceeded <see cref="ClientTimeouts.Connect"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<AttestedTlsResult> AttestAsync(
        string host, int port, AttestedTlsVerifier verifier, byte[]? nonce = null, ClientTimeouts? timeouts = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await ConnectAsync(host, port, verifier, nonce, timeouts, cancellationToken).ConfigureAwait(false);
            return connection.Result;
        }
        catch (AttestedTlsException ex) when (ex.Result is not null)
        {
            return ex.Result;
        }
    }
}
