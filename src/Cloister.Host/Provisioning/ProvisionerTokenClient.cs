using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Runtime.Provisioning;

namespace Cloister.Host.Provisioning;

/// <summary>
/// The host's side of the host API: <c>POST /v1/tokens</c> over HTTPS with the host's client certificate, the
/// provisioner's certificate accepted only when its key matches the credentials' pin (docs/provisioning.md).
/// </summary>
public sealed class ProvisionerTokenClient : IDisposable
{
    private readonly X509Certificate2 _certificate;
    private readonly HttpClient _http;
    private readonly Uri _provisioner;
    private readonly Uri _tokens;
    private readonly string _deployment;
    private int _pinMismatches;

    /// <summary>Creates a client; nothing is sent until <see cref="FetchAsync"/>.</summary>
    /// <param name="credentials">The host's credentials: pin and client certificate.</param>
    /// <param name="provisioner">The provisioner's HTTPS URL (the credentials' unless overridden).</param>
    /// <param name="deployment">The deployment tokens are asked for (the manifest's <c>provisioning.token_audience</c>).</param>
    /// <param name="timeout">The bound on connecting and on each whole request.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="provisioner"/> is not an https:// URL, or <paramref name="deployment"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The credentials' certificate and key do not form a client identity.</exception>
    public ProvisionerTokenClient(ProvisionerCredentials credentials, Uri provisioner, string deployment, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(provisioner);
        ArgumentException.ThrowIfNullOrEmpty(deployment);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        if (!provisioner.IsAbsoluteUri || provisioner.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"the provisioner '{provisioner}' is not an https:// URL", nameof(provisioner));
        }

        _provisioner = provisioner;
        _tokens = new Uri(provisioner, ProvisioningProtocol.TokensPath);
        _deployment = deployment;
        _certificate = credentials.ClientCertificate();
        var pin = credentials.Pin;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            // Tokens are fetched once per enclave start: an idle connection is not worth keeping for the next.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            SslOptions = new SslClientAuthenticationOptions
            {
                // Sent whenever the provisioner asks, whatever CA names it lists: the provisioner decides.
                ClientCertificateContext = SslStreamCertificateContext.Create(_certificate, additionalCertificates: null, offline: true),
                // The pin is the only trust: no CA, no name check, so a provisioner on a bare IP or behind any name works.
                RemoteCertificateValidationCallback = (_, certificate, _, _) => ProvisionerPin.Matches(certificate, pin) || PinMismatch(),
            },
        };
        _http = new HttpClient(handler) { Timeout = timeout, MaxResponseContentBufferSize = ProvisioningProtocol.MaxMessageSize };
    }

    /// <summary>Asks the provisioner for a fresh token.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The token.</returns>
    /// <exception cref="ProvisionerUnavailableException">
    /// The provisioner was unreachable, timed out, presented another key than the pinned one, refused the host (a revoked
    /// or unknown certificate), did not know the deployment, or answered something that is not a token.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<TokenResponse> FetchAsync(CancellationToken cancellationToken)
    {
        var mismatchesBefore = Volatile.Read(ref _pinMismatches);
        byte[] body;
        HttpStatusCode status;
        try
        {
            // A sized body rather than JsonContent's chunked one: a request is a few bytes, and any server reads it.
            using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new TokenRequest { Deployment = _deployment }, ProvisioningJson.Default.TokenRequest));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _http.PostAsync(_tokens, content, cancellationToken);
            status = response.StatusCode;
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ProvisionerUnavailableException(Volatile.Read(ref _pinMismatches) != mismatchesBefore
                ? $"the provisioner at {_provisioner} presented a key that does not match the credentials' pinned_sha256"
                : $"cannot reach the provisioner at {_provisioner}: {ProvisioningFailures.OneLine(ex)}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProvisionerUnavailableException($"the provisioner at {_provisioner} did not answer within {_http.Timeout.TotalSeconds:0.#} s", ex);
        }

        if (status != HttpStatusCode.OK)
        {
            throw new ProvisionerUnavailableException($"the provisioner at {_provisioner} refused a token for deployment '{_deployment}': {(int)status} {ProvisioningFailures.ErrorOf(body)}");
        }

        try
        {
            var token = JsonSerializer.Deserialize(body, ProvisioningJson.Default.TokenResponse);
            return token is { Token.Length: > 0 and <= ProvisioningToken.MaxLength }
                ? token
                : throw new ProvisionerUnavailableException($"the provisioner at {_provisioner} answered an empty or oversized token");
        }
        catch (JsonException ex)
        {
            throw new ProvisionerUnavailableException($"the provisioner at {_provisioner} answered something that is not a token: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        _certificate.Dispose();
    }

    private bool PinMismatch()
    {
        Interlocked.Increment(ref _pinMismatches);
        return false;
    }
}
