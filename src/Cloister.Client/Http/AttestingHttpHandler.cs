using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Client.Tls;

namespace Cloister.Client.Http;

/// <summary>
/// An <see cref="HttpClient"/> handler that attests every server it connects to inside the TLS handshake, so no byte of
/// a request reaches a server that failed: a refused connection fails the request with an
/// <see cref="HttpRequestException"/> whose inner exception is an <see cref="AttestedTlsException"/> naming the reason.
/// Only <c>https://</c> is sent; <c>http://</c> is refused (<see cref="AttestedTlsFailure.NotTls"/>).
/// </summary>
/// <remarks>
/// <para>
/// The verified documents reach the caller through <see cref="ConnectionAttested"/>, raised once per connection when
/// its handshake passes, before the connection carries a request. An event per connection is the record that stays
/// true under pooling: <see cref="SocketsHttpHandler"/> may serve a request on a connection another request opened,
/// and does not say which, so a per-response document could name the wrong connection. A request that asks for
/// freshness is the exception: its connection is its own (below), and its verification is also put in its
/// <see cref="HttpRequestMessage.Options"/> under <see cref="AttestationKey"/>.
/// </para>
/// <para>
/// Freshness: <see cref="RequireFreshAttestation"/> gives the request a nonce. The handler then sets its Host header to
/// <c>&lt;nonce&gt;.attest.&lt;host&gt;</c> (<see cref="NonceHostName"/>): <see cref="SocketsHttpHandler"/> takes the
/// server name (SNI) from the Host header and keys its connection pools by it, so the request gets a new connection
/// whose SNI carries the nonce, to the address of its URI, and the handshake requires the nonce in the document. The
/// server sees the nonce name in SNI and in the Host header alike, as with Evervault's clients. Each such connection
/// stays idle in its own pool until <see cref="SocketsHttpHandler.PooledConnectionIdleTimeout"/>; a second request
/// with the same nonce reuses it without a new handshake (and without a result in its options).
/// </para>
/// </remarks>
public sealed class AttestingHttpHandler : DelegatingHandler
{
    /// <summary>The request option holding the nonce a request requires (set by <see cref="RequireFreshAttestation"/>).</summary>
    public static readonly HttpRequestOptionsKey<byte[]> NonceKey = new("Cloister.Client.Nonce");

    /// <summary>The request option that receives the verification of a fresh (nonce) request's connection.</summary>
    public static readonly HttpRequestOptionsKey<AttestedTlsResult> AttestationKey = new("Cloister.Client.Attestation");

    private readonly AttestedTlsVerifier _verifier;
    private readonly ConcurrentDictionary<string, AttestedTlsResult> _freshResults = new(StringComparer.Ordinal);

    /// <summary>Creates the handler over a new <see cref="SocketsHttpHandler"/>.</summary>
    /// <param name="verifier">What to require of servers; share one verifier so that its cache serves every connection.</param>
    /// <param name="timeouts">The bounds of each network step; <see cref="ClientTimeouts.Default"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="verifier"/> is <see langword="null"/>.</exception>
    public AttestingHttpHandler(AttestedTlsVerifier verifier, ClientTimeouts? timeouts = null)
        : this(verifier, new SocketsHttpHandler(), timeouts)
    {
    }

    /// <summary>Creates the handler over <paramref name="inner"/>, whose certificate validation it takes over.</summary>
    /// <param name="verifier">What to require of servers.</param>
    /// <param name="inner">
    /// The handler that makes the connections; disposed with this one. Its <see cref="SocketsHttpHandler.ConnectTimeout"/>
    /// is set from <paramref name="timeouts"/>, and its connect callback and plaintext stream filter (if any) are wrapped.
    /// </param>
    /// <param name="timeouts">The bounds of each network step; <see cref="ClientTimeouts.Default"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="verifier"/> or <paramref name="inner"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="inner"/> already has a certificate validation callback, which attestation would silently replace.</exception>
    public AttestingHttpHandler(AttestedTlsVerifier verifier, SocketsHttpHandler inner, ClientTimeouts? timeouts = null)
        : base(new TimeoutHandler(WithoutValidation(inner), timeouts ?? ClientTimeouts.Default))
    {
        ArgumentNullException.ThrowIfNull(verifier);
        _verifier = verifier;
        inner.SslOptions.RemoteCertificateValidationCallback = Validate;
    }

    /// <summary>Raised once per connection whose handshake passed attestation, before it carries a request; see the remarks.</summary>
    public event EventHandler<AttestedConnectionEventArgs>? ConnectionAttested;

    /// <summary>Makes <paramref name="request"/> require a fresh document carrying a nonce, on a connection of its own.</summary>
    /// <param name="request">The request.</param>
    /// <param name="nonce">The nonce (1–<see cref="NonceHostName.MaxNonceLength"/> bytes), or <see langword="null"/> for <see cref="AttestedTlsClient.CreateNonce"/>.</param>
    /// <returns>The nonce.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The nonce is empty or longer than <see cref="NonceHostName.MaxNonceLength"/>.</exception>
    public static byte[] RequireFreshAttestation(HttpRequestMessage request, byte[]? nonce = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        nonce = nonce?.ToArray() ?? AttestedTlsClient.CreateNonce();
        if (nonce.Length is 0 or > NonceHostName.MaxNonceLength)
        {
            throw new ArgumentException($"a nonce is 1 to {NonceHostName.MaxNonceLength} bytes, not {nonce.Length}", nameof(nonce));
        }

        request.Options.Set(NonceKey, nonce);
        return nonce;
    }

    /// <summary>Sends the request over an attested connection.</summary>
    /// <param name="request">The request; its URI must be <c>https://</c>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="HttpRequestException">
    /// The URI is not <c>https://</c>, or the server failed attestation (the inner exception is an
    /// <see cref="AttestedTlsException"/>), or the request failed as any request can.
    /// </exception>
    /// <exception cref="NetworkTimeoutException">
    /// A step exceeded its <see cref="ClientTimeouts"/> bound: connect, TLS handshake, writing the request or waiting for
    /// the response headers; reading the body later throws it from the content stream (<see cref="NetworkStep.ResponseBody"/>).
    /// </exception>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri;
        if (uri is null || !uri.IsAbsoluteUri || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new HttpRequestException(
                $"refused to send to '{uri}': only https:// can be attested",
                new AttestedTlsException(AttestedTlsFailure.NotTls, $"'{uri}' is not an https:// address; a plaintext server cannot be attested"));
        }

        if (!request.Options.TryGetValue(NonceKey, out var nonce))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var serverName = NonceHostName.Format(nonce, uri.IdnHost);
        request.Headers.Host = uri.IsDefaultPort ? serverName : $"{serverName}:{uri.Port}";
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (_freshResults.TryRemove(serverName, out var result))
            {
                request.Options.Set(AttestationKey, result);
            }

            return response;
        }
        finally
        {
            _freshResults.TryRemove(serverName, out _);
        }
    }

    private static SocketsHttpHandler WithoutValidation(SocketsHttpHandler? inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return inner.SslOptions.RemoteCertificateValidationCallback is null
            ? inner
            : throw new ArgumentException("the inner handler already validates certificates; attestation replaces that callback", nameof(inner));
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors)
    {
        var serverName = ((SslStream)sender).TargetHostName;
        var fresh = NonceHostName.TryParse(serverName, out var nonce, out var host);
        host ??= serverName;
        var result = AttestedTlsValidation.Verify(_verifier, host, nonce, certificate, chain);
        var accepted = AttestedTlsValidation.Accept(result);
        if (fresh)
        {
            _freshResults[serverName] = result;
        }

        ConnectionAttested?.Invoke(this, new AttestedConnectionEventArgs(serverName, host, result));
        return accepted;
    }
}
