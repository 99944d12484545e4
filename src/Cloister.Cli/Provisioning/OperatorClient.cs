using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Cloister.Runtime.Provisioning;

namespace Cloister.Cli.Provisioning;

/// <summary>
/// Speaks a provisioner's operator (and host) API over HTTPS with the client certificate of a credentials file. The
/// provisioner's certificate is accepted only if its key is the pinned one, exactly as an enclave accepts it: no CA,
/// no host name, nothing else. Every request is bounded in time (connect and handshake, then the whole exchange) and
/// every answer in size, so a provisioner that stalls or floods ends the command with one line, never a hang.
/// </summary>
internal sealed class OperatorClient : IDisposable
{
    /// <summary>The longest a TCP connect and TLS handshake may take.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The largest answer read: an audit page or a deployment is a few KiB; this is the protocol's own bound.</summary>
    private const int MaxAnswerSize = ProvisioningProtocol.MaxMessageSize;

    private readonly HttpClient _http;
    private readonly X509Certificate2 _clientCertificate;
    private readonly byte[] _pin;
    private readonly TimeSpan _timeout;

    // The key a refused handshake met, so the failure can say which key it was rather than "handshake failed".
    private volatile string? _mismatchedPin;

    private OperatorClient(Uri baseAddress, ProvisionerCredentials credentials, TimeSpan timeout)
    {
        BaseAddress = baseAddress;
        _pin = credentials.Pin;
        _timeout = timeout;
        _clientCertificate = credentials.ClientCertificate();
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = ConnectTimeout,
            MaxResponseHeadersLength = 64,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                // Always ours, whatever issuers the server lists: the server decides what the certificate may do.
                LocalCertificateSelectionCallback = (_, _, _, _, _) => _clientCertificate,
                RemoteCertificateValidationCallback = (_, certificate, _, _) => CheckPin(certificate),
            },
        };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan, MaxResponseContentBufferSize = MaxAnswerSize };
    }

    /// <summary>The provisioner's URL the requests go to.</summary>
    public Uri BaseAddress { get; }

    /// <summary>A client for the provisioner the credentials name, or <paramref name="provisioner"/> when given.</summary>
    /// <exception cref="CommandFailedException">The client certificate cannot be loaded.</exception>
    public static OperatorClient Create(ProvisionerCredentials credentials, Uri? provisioner, TimeSpan timeout)
    {
        try
        {
            return new OperatorClient(provisioner ?? credentials.Provisioner, credentials, timeout);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new CommandFailedException($"the credentials' client certificate cannot be used: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }

    /// <summary>Sends a JSON body and reads a JSON answer.</summary>
    /// <exception cref="CommandFailedException">The provisioner cannot be reached, refused, timed out, or answered what the API does not define.</exception>
    public Task<TAnswer> SendJsonAsync<TBody, TAnswer>(
        HttpMethod method, string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<TAnswer> answerType, CancellationToken cancellationToken) =>
        SendAsync(method, path, new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, bodyType)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, answerType, cancellationToken);

    /// <summary>Sends <paramref name="content"/> (or nothing) and reads a JSON answer.</summary>
    /// <exception cref="CommandFailedException">See <see cref="SendJsonAsync{TBody, TAnswer}"/>.</exception>
    public async Task<TAnswer> SendAsync<TAnswer>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<TAnswer> answerType, CancellationToken cancellationToken)
    {
        var bytes = await ExchangeAsync(method, path, content, cancellationToken);
        try
        {
            return JsonSerializer.Deserialize(bytes, answerType) ?? throw new JsonException("null");
        }
        catch (JsonException ex)
        {
            throw new CommandFailedException($"{method} {path}: the provisioner's answer is not what the API defines: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }

    /// <summary>Sends a request whose success has no body to read (204, or a body the caller does not need).</summary>
    /// <exception cref="CommandFailedException">See <see cref="SendJsonAsync{TBody, TAnswer}"/>.</exception>
    public Task SendAsync(HttpMethod method, string path, CancellationToken cancellationToken) =>
        ExchangeAsync(method, path, content: null, cancellationToken);

    public void Dispose()
    {
        _http.Dispose();
        _clientCertificate.Dispose();
    }

    private async Task<byte[]> ExchangeAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        var what = $"{method} {path}";
        try
        {
            // ResponseContentRead buffers the body under MaxResponseContentBufferSize: an endless answer fails, never fills memory.
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token);
            return response.IsSuccessStatusCode ? body : throw Refusal(what, response.StatusCode, body);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CommandFailedException($"{what}: the provisioner at {Authority} did not answer within {_timeout.TotalSeconds:0.###}s (--timeout)", ExitCodes.Invalid, ex);
        }
        catch (OperationCanceledException ex) when (ex.InnerException is TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // SocketsHttpHandler's ConnectTimeout (TCP connect and TLS handshake) surfaces as a cancellation.
            throw new CommandFailedException($"{what}: cannot reach the provisioner at {Authority}: no connection within {ConnectTimeout.TotalSeconds:0}s", ExitCodes.Invalid, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new CommandFailedException($"{what}: {Describe(ex)}", ExitCodes.Invalid, ex);
        }
    }

    private string Authority => BaseAddress.GetComponents(UriComponents.HostAndPort, UriFormat.UriEscaped);

    private bool CheckPin(X509Certificate? certificate)
    {
        if (ProvisionerPin.Matches(certificate, _pin))
        {
            return true;
        }

        using var presented = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        _mismatchedPin = presented is null ? "no certificate" : Convert.ToHexStringLower(ProvisionerPin.Of(presented));
        return false;
    }

    private string Describe(HttpRequestException ex)
    {
        if (_mismatchedPin is { } presented)
        {
            return $"refused: the server at {Authority} is not the pinned provisioner (its TLS key's SHA-256 is {presented}, the credentials pin {Convert.ToHexStringLower(_pin)})";
        }

        // The innermost exception names the cause (connection refused, name not found, answer too large); the outer ones repeat the request.
        Exception cause = ex;
        while (cause.InnerException is { } inner)
        {
            cause = inner;
        }

        return cause switch
        {
            SocketException socket => $"cannot reach the provisioner at {Authority}: {socket.Message}",
            TimeoutException => $"cannot reach the provisioner at {Authority}: no connection within {ConnectTimeout.TotalSeconds:0}s",
            AuthenticationException or IOException => $"the TLS connection to the provisioner at {Authority} failed: {cause.Message}",
            _ => $"the request to the provisioner at {Authority} failed: {cause.Message}",
        };
    }

    private static CommandFailedException Refusal(string what, HttpStatusCode status, byte[] body)
    {
        string? error = null;
        try
        {
            error = JsonSerializer.Deserialize(body, ProvisioningJson.Default.ProvisioningError)?.Error;
        }
        catch (JsonException)
        {
            // Not the API's error shape (a proxy's page, say): the status alone is the answer.
        }

        var reason = error ?? (body.Length == 0 ? "" : Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200)));
        return new CommandFailedException($"{what}: the provisioner answered {(int)status} {status}{(reason.Length > 0 ? ": " + reason : "")}");
    }
}
