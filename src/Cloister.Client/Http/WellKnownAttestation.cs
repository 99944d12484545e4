using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Attestation.Certificates;

namespace Cloister.Client.Http;

/// <summary>
/// Fetches <c>GET /.well-known/attestation</c> (<c>{"attestation_doc":"&lt;base64&gt;"}</c>, or a fresh document with
/// <c>?nonce=&lt;base64&gt;</c>) and verifies it against the certificate of the very connection it came over: the
/// served chain, the document, its user_data equal to that certificate's SubjectPublicKeyInfo, the nonce. For servers
/// whose certificate does not carry the document itself (Evervault's GA scheme) as well as for Cloister's.
/// </summary>
public static class WellKnownAttestation
{
    /// <summary>The path the document is served at.</summary>
    public const string Path = "/.well-known/attestation";

    /// <summary>
    /// The largest answer read. A document is at most about 16 KiB (nine fields, each bounded by the decoder), 22 KiB
    /// in base64; the bound keeps a hostile server from filling memory with an endless answer.
    /// </summary>
    public const int MaxAnswerLength = 64 * 1024;

    private const string DocumentProperty = "attestation_doc";

    /// <summary>Fetches and verifies the server's document.</summary>
    /// <param name="server">The server's <c>https://host[:port]</c> address (any path is replaced).</param>
    /// <param name="verifier">What to require of the server; its cache is not used (the document comes with the answer).</param>
    /// <param name="nonce">A nonce the document must carry (sent as <c>?nonce=</c>), or <see langword="null"/>.</param>
    /// <param name="timeouts">The bounds of each network step; <see cref="ClientTimeouts.Default"/> when <see langword="null"/>. The whole exchange is also bounded by <see cref="HttpClient.Timeout"/>'s default of 100 s.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>Success with the document, or the first failed check.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="server"/> or <paramref name="verifier"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="server"/> is not an absolute <c>https://</c> address.</exception>
    /// <exception cref="HttpRequestException">The request failed, the answer is not 200 OK, or it is longer than <see cref="MaxAnswerLength"/>.</exception>
    /// <exception cref="NetworkTimeoutException">A step exceeded its <see cref="ClientTimeouts"/> bound (the exception names it).</exception>
    /// <exception cref="FormatException">The answer is not <c>{"attestation_doc":"&lt;base64&gt;"}</c> (the message names what is wrong).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or the exchange took over 100 s.</exception>
    public static async Task<AttestedTlsResult> FetchAsync(
        Uri server, AttestedTlsVerifier verifier, byte[]? nonce = null, ClientTimeouts? timeouts = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(verifier);
        if (!server.IsAbsoluteUri || server.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{server}' is not an https:// address; a document fetched in plaintext proves nothing about the server", nameof(server));
        }

        var query = nonce is null ? "" : "?nonce=" + Uri.EscapeDataString(Convert.ToBase64String(nonce));
        var address = new UriBuilder(server) { Path = Path, Query = query }.Uri;
        var served = new ServedCertificate();
        // One handler, one request: the response can only have come over the connection whose certificate was captured last.
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = served.Capture },
        };
        using var client = new HttpClient(new TimeoutHandler(handler, timeouts ?? ClientTimeouts.Default)) { MaxResponseContentBufferSize = MaxAnswerLength };
        using var response = await client.GetAsync(address, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {address}: {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }

        var document = ReadDocument(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        using var certificate = served.Certificate!;
        return verifier.VerifyDocument(certificate, served.Intermediates, server.IdnHost, document, nonce);
    }

    /// <summary>Reads the document out of <c>{"attestation_doc":"&lt;base64&gt;"}</c>; other properties are ignored.</summary>
    internal static byte[] ReadDocument(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException($"{Path}: expected a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isDocument = reader.ValueTextEquals(DocumentProperty);
                reader.Read();
                if (!isDocument)
                {
                    reader.Skip();
                }
                else if (reader.TokenType != JsonTokenType.String || !reader.TryGetBytesFromBase64(out var document) || document.Length == 0)
                {
                    throw new FormatException($"{Path}: '{DocumentProperty}' is not a non-empty base64 string");
                }
                else
                {
                    return document;
                }
            }

            throw new FormatException($"{Path}: no '{DocumentProperty}' property");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{Path}: not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The certificate (and the others sent with it) of the last handshake, accepted as is: the verifier judges it afterwards.</summary>
    private sealed class ServedCertificate
    {
        public X509Certificate2? Certificate { get; private set; }

        public X509Certificate2[] Intermediates { get; private set; } = [];

        public bool Capture(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors sslPolicyErrors)
        {
            Certificate?.Dispose();
            Certificate = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            Intermediates = chain is null ? [] : [.. chain.ChainPolicy.ExtraStore];
            return Certificate is not null;
        }
    }
}
