using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation.Nsm;
using Cloister.Enclave.Nitro;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Nsm;
using Cloister.Runtime.Provisioning;

namespace Cloister.Enclave.Provisioning;

/// <summary>
/// The enclave's side of provisioning (docs/provisioning.md): a token from the host, an ephemeral P-384 key, an NSM
/// document binding both (<c>user_data</c> = the token's SHA-384, <c>public_key</c> = the key), and <c>POST
/// /v1/provision</c> over TLS through the host's relay, pinned to the provisioner's key; the answer is opened with the
/// ephemeral key. Transport errors are retried with a new token each time; a refusal is final.
/// </summary>
/// <remarks>
/// The document travels only in the request body, which is written after the handshake has accepted the pinned key:
/// a provisioner with another key never receives it.
/// </remarks>
internal sealed class ProvisioningClient
{
    /// <summary>The reason reported when the provisioner's certificate carries another key than the pinned one.</summary>
    public const string PinMismatchReason = "the provisioner's key does not match provisioning.pinned_sha256";

    private const int NonceLength = 32;

    private readonly ProvisioningSettings _settings;
    private readonly NsmDevice _nsm;
    private readonly Func<CancellationToken, Task<string>> _getToken;
    private readonly Func<CancellationToken, ValueTask<Stream>> _connect;
    private readonly ProvisioningClientOptions _options;

    /// <param name="settings">The manifest's provisioning section.</param>
    /// <param name="nsm">The NSM that signs the document.</param>
    /// <param name="getToken">Gets a fresh token from the host; throws <see cref="ProvisioningTransportException"/> when it cannot.</param>
    /// <param name="connect">Opens a byte stream to the provisioner (through the host's relay on vsock 7003).</param>
    /// <param name="options">Bounds and clock.</param>
    public ProvisioningClient(
        ProvisioningSettings settings, NsmDevice nsm, Func<CancellationToken, Task<string>> getToken, Func<CancellationToken, ValueTask<Stream>> connect, ProvisioningClientOptions options)
    {
        _settings = settings;
        _nsm = nsm;
        _getToken = getToken;
        _connect = connect;
        _options = options;
    }

    /// <summary>Provisions, retrying transport errors within <see cref="ProvisioningClientOptions.RetryBound"/>.</summary>
    /// <param name="log">Receives one line per failed attempt (never a token, a document or a secret).</param>
    /// <param name="cancellationToken">Cancels provisioning.</param>
    /// <returns>The answer, checked to be for this deployment.</returns>
    /// <exception cref="ProvisioningRefusedException">The provisioner refused, its key is not the pinned one, its answer is unusable, or it stayed unreachable.</exception>
    /// <exception cref="NsmAttestationException">The NSM refused the document request.</exception>
    /// <exception cref="IOException">The NSM device failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ProvisioningAnswer> ProvisionAsync(Func<string, Task> log, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var deadline = time.GetUtcNow() + _options.RetryBound;
        var delay = _options.FirstRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            string failure;
            try
            {
                return await AttemptAsync(cancellationToken);
            }
            catch (ProvisioningTransportException ex)
            {
                failure = ex.Message;
            }

            if (time.GetUtcNow() + delay > deadline)
            {
                throw new ProvisioningRefusedException($"no answer from the provisioner within {_options.RetryBound.TotalSeconds:0.#} s ({attempt} attempts); the last: {failure}");
            }

            await log($"provisioning: attempt {attempt} failed: {failure}; retrying in {delay.TotalSeconds:0.##} s with a new token");
            await Task.Delay(delay, time, cancellationToken);
            delay = delay * 2 > _options.MaxRetryDelay ? _options.MaxRetryDelay : delay * 2;
        }
    }

    private async Task<ProvisioningAnswer> AttemptAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_options.AttemptTimeout);
        try
        {
            return await AttemptAsync(bounded.Token, cancellationToken);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProvisioningTransportException($"the attempt took longer than {_options.AttemptTimeout.TotalSeconds:0} s", ex);
        }
    }

    private async Task<ProvisioningAnswer> AttemptAsync(CancellationToken attemptToken, CancellationToken cancellationToken)
    {
        var token = await _getToken(attemptToken);
        var tokenHash = ProvisioningToken.HashOf(token);
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var document = await NsmAttestation.GetDocumentAsync(
            _nsm, new AttestationRequest(userData: tokenHash, nonce: RandomNumberGenerator.GetBytes(NonceLength), publicKey: key.ExportSubjectPublicKeyInfo()), attemptToken);
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new ProvisionRequest { Deployment = _settings.TokenAudience, Token = token, AttestationDocument = document }, ProvisioningJson.Default.ProvisionRequest);

        var pinMismatch = false;
        var pin = _settings.PinnedSha256;
        using var handler = new SocketsHttpHandler
        {
            // Every connection goes through the host's relay, whatever the URL's address: the enclave has no other network.
            ConnectCallback = async (_, token) => await _connect(token),
            UseProxy = false,
            AllowAutoRedirect = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = _settings.Url.IdnHost,
                // The pin is the only trust anchor: the provisioner's certificate is self-signed and no CA is consulted.
                RemoteCertificateValidationCallback = (_, certificate, _, _) => ProvisionerPin.Matches(certificate, pin) || !(pinMismatch = true),
            },
        };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = ProvisioningProtocol.MaxMessageSize };
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        HttpStatusCode status;
        byte[] answer;
        try
        {
            using var response = await http.PostAsync(new Uri(_settings.Url, ProvisioningProtocol.ProvisionPath), content, attemptToken);
            status = response.StatusCode;
            answer = await response.Content.ReadAsByteArrayAsync(attemptToken);
        }
        catch (HttpRequestException) when (pinMismatch)
        {
            throw new ProvisioningRefusedException(PinMismatchReason);
        }
        catch (HttpRequestException ex)
        {
            throw new ProvisioningTransportException($"HTTPS to the provisioner through the host: {ProvisioningFailures.OneLine(ex)}", ex);
        }

        if ((int)status >= 500 || status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
        {
            throw new ProvisioningTransportException($"the provisioner answered {(int)status}");
        }

        if (status != HttpStatusCode.OK)
        {
            throw new ProvisioningRefusedException($"the provisioner answered {(int)status}: {ProvisioningFailures.ErrorOf(answer)}");
        }

        cancellationToken.ThrowIfCancellationRequested();
        return Open(answer, key, tokenHash);
    }

    private ProvisioningAnswer Open(byte[] body, ECDiffieHellman key, byte[] tokenHash)
    {
        byte[] plaintext;
        try
        {
            var response = JsonSerializer.Deserialize(body, ProvisioningJson.Default.ProvisionResponse)
                ?? throw new ProvisioningRefusedException("the provisioner's answer is null");
            plaintext = ProvisioningEnvelope.Open(response.Answer, key, tokenHash);
        }
        catch (JsonException ex)
        {
            throw new ProvisioningRefusedException($"the provisioner's answer is not the wire format: {ex.Message}");
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            throw new ProvisioningRefusedException($"the provisioner's answer does not open with this enclave's key: {ex.Message}");
        }

        ProvisioningAnswer answer;
        try
        {
            answer = JsonSerializer.Deserialize(plaintext, ProvisioningJson.Default.ProvisioningAnswer)
                ?? throw new ProvisioningRefusedException("the provisioner's sealed answer is null");
        }
        catch (JsonException)
        {
            // The message could quote the plaintext, which holds secrets.
            throw new ProvisioningRefusedException("the provisioner's sealed answer is not a provisioning answer");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        return answer.Deployment == _settings.TokenAudience
            ? answer
            : throw new ProvisioningRefusedException($"the provisioner's answer is for deployment '{answer.Deployment}', not '{_settings.TokenAudience}'");
    }
}
