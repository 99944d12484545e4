using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;

namespace Cloister.Client.Tls;

/// <summary>
/// Attests the server of one <see cref="SslStream"/> during its handshake: pass <see cref="CreateOptions"/> (or
/// <see cref="ServerName"/> and <see cref="Validate"/>) to <see cref="SslStream.AuthenticateAsClientAsync(SslClientAuthenticationOptions, CancellationToken)"/>.
/// A refused server makes the handshake throw <see cref="AttestedTlsException"/>, so no application byte is ever written to it.
/// </summary>
/// <remarks>
/// The platform's own chain verdict (<see cref="SslPolicyErrors"/>) is ignored: a standalone server is self-signed and a
/// nonce server name is not in the certificate, so the verifier's <see cref="TlsChainTrust"/> judges the chain instead.
/// </remarks>
public sealed class AttestedTlsValidation
{
    private readonly AttestedTlsVerifier _verifier;
    private readonly byte[]? _nonce;

    /// <summary>Prepares the validation of a connection to <paramref name="host"/>.</summary>
    /// <param name="verifier">What to require of the server.</param>
    /// <param name="host">The server's host name (or address).</param>
    /// <param name="nonce">
    /// A nonce to ask a fresh document for (sent as the server name <see cref="NonceHostName.Format"/>), e.g.
    /// <see cref="AttestedTlsClient.CreateNonce"/>; <see langword="null"/> to accept the server's current certificate.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="verifier"/> or <paramref name="host"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="host"/> is empty, or the nonce is empty or longer than <see cref="NonceHostName.MaxNonceLength"/>.</exception>
    public AttestedTlsValidation(AttestedTlsVerifier verifier, string host, byte[]? nonce = null)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentException.ThrowIfNullOrEmpty(host);
        _verifier = verifier;
        _nonce = nonce?.ToArray();
        Host = host;
        ServerName = _nonce is null ? host : NonceHostName.Format(_nonce, host);
    }

    /// <summary>The host the certificate must be for.</summary>
    public string Host { get; }

    /// <summary>The server name (SNI) to send: <see cref="Host"/>, or the nonce name when a nonce was given.</summary>
    public string ServerName { get; }

    /// <summary>The outcome of the last handshake validated, refused or not, or <see langword="null"/> before one (or when the server sent no certificate).</summary>
    public AttestedTlsResult? Result { get; private set; }

    /// <summary>Client options with <see cref="ServerName"/> as the target host and <see cref="Validate"/> as the callback.</summary>
    /// <returns>New options; add application protocols or client certificates as needed.</returns>
    public SslClientAuthenticationOptions CreateOptions() => new()
    {
        TargetHost = ServerName,
        RemoteCertificateValidationCallback = Validate,
    };

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/>: attests the server from the certificate it served.</summary>
    /// <param name="sender">The <see cref="SslStream"/>.</param>
    /// <param name="certificate">The server's certificate.</param>
    /// <param name="chain">The platform's chain, whose extra store holds the other certificates the server sent.</param>
    /// <param name="sslPolicyErrors">The platform's verdict; ignored (see the remarks).</param>
    /// <returns><see langword="true"/> when the server is attested; a refusal is thrown instead of returning <see langword="false"/>, so that its reason reaches the caller.</returns>
    /// <exception cref="AttestedTlsException">The server is refused; the handshake fails with this exception.</exception>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors)
    {
        Result = Verify(_verifier, Host, _nonce, certificate, chain);
        return Accept(Result);
    }

    /// <summary>Accepts a success; throws a refusal, so that its reason travels with the failed handshake rather than a bare <see langword="false"/>.</summary>
    internal static bool Accept(AttestedTlsResult result) => result.IsValid ? true : throw new AttestedTlsException(result);

    /// <summary>Verifies a served certificate; only a missing certificate, which has no result, is thrown.</summary>
    internal static AttestedTlsResult Verify(AttestedTlsVerifier verifier, string host, byte[]? nonce, X509Certificate? certificate, X509Chain? chain)
    {
        if (certificate is null)
        {
            throw new AttestedTlsException(AttestedTlsFailure.NoCertificate, $"the server for '{host}' presented no certificate");
        }

        var leaf = certificate as X509Certificate2;
        using var loaded = leaf is null ? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()) : null;
        return verifier.Verify(leaf ?? loaded!, chain?.ChainPolicy.ExtraStore, host, nonce);
    }
}
