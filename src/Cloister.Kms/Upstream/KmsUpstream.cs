using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Cloister.Kms.Credentials;
using Cloister.Kms.Signing;

namespace Cloister.Kms.Upstream;

/// <summary>
/// Sends the proxy's calls to AWS KMS: signed with SigV4 through the SDK's signer, over HTTPS whose every byte goes
/// through <see cref="KmsUpstreamOptions.OpenTunnel"/>, the endpoint's chain ending in the configured roots only.
/// </summary>
public sealed class KmsUpstream : IKmsUpstream, IDisposable
{
    private readonly KmsUpstreamOptions _options;
    private readonly HttpClient _client;
    private readonly string _authority;

    /// <summary>Creates the upstream; nothing is connected until the first call.</summary>
    /// <param name="options">The endpoint, roots, tunnel, credentials and bounds.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or one of its required members is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The endpoint is not <c>https://host[:port]/</c>, the region is empty, or there are no trust roots.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A timeout is not positive, or the answer bound is less than 1.</exception>
    public KmsUpstream(KmsUpstreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Endpoint);
        ArgumentNullException.ThrowIfNull(options.TrustRoots);
        ArgumentNullException.ThrowIfNull(options.OpenTunnel);
        ArgumentNullException.ThrowIfNull(options.Credentials);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentException.ThrowIfNullOrEmpty(options.Region);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectTimeout, TimeSpan.Zero, nameof(options.ConnectTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.CallTimeout, TimeSpan.Zero, nameof(options.CallTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAnswerBytes, 1, nameof(options.MaxAnswerBytes));
        var endpoint = options.Endpoint;
        if (!endpoint.IsAbsoluteUri || endpoint.Scheme != Uri.UriSchemeHttps || endpoint.AbsolutePath != "/" || endpoint.Query.Length > 0 || endpoint.UserInfo.Length > 0)
        {
            throw new ArgumentException($"the KMS endpoint '{endpoint}' is not https://host[:port]/", nameof(options));
        }

        if (options.TrustRoots.Count == 0)
        {
            throw new ArgumentException("no trust roots for the KMS endpoint", nameof(options));
        }

        _options = options;
        _authority = endpoint.Authority;
        var chainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        chainPolicy.CustomTrustStore.AddRange(options.TrustRoots);
        var handler = new SocketsHttpHandler
        {
            // Every connection is the caller's tunnel: no DNS, no socket, no proxy of this process's own.
            ConnectCallback = async (context, cancellationToken) => await options.OpenTunnel(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false),
            ConnectTimeout = options.ConnectTimeout,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            // KMS's addresses change behind its name; a connection is not kept for ever.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            SslOptions = new SslClientAuthenticationOptions
            {
                // The chain must end in these roots and no other (no system store); nothing is fetched (AIA, OCSP,
                // CRL), since the enclave has no way out but the tunnel. The host name is checked as always.
                CertificateChainPolicy = chainPolicy,
            },
        };
        _client = new HttpClient(handler, disposeHandler: true)
        {
            // CallTimeout bounds each call through its own token, with a message of ours.
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <inheritdoc/>
    public async Task<KmsReply> SendAsync(KmsCall kmsCall, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kmsCall);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_options.CallTimeout);
        try
        {
            AwsCredentials credentials;
            try
            {
                credentials = await _options.Credentials(bounded.Token).ConfigureAwait(false);
            }
            catch (KmsCredentialsException ex)
            {
                throw new KmsUpstreamException($"no AWS credentials to sign KMS calls with: {ex.Message}", ex);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint) { Content = new ReadOnlyMemoryContent(kmsCall.Body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(KmsRequestSigner.ContentType);
            request.Headers.TryAddWithoutValidation("X-Amz-Target", kmsCall.Target);
            foreach (var (name, value) in KmsRequestSigner.Sign(_options.Endpoint, kmsCall.Target, kmsCall.Body, credentials, _options.Region, _options.TimeProvider.GetUtcNow()))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bounded.Token).ConfigureAwait(false);
            var body = await ReadBoundedAsync(response.Content, bounded.Token).ConfigureAwait(false);
            return new KmsReply((int)response.StatusCode, body, response.Content.Headers.ContentType?.ToString());
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the call's bound, so the handler's ConnectTimeout: the tunnel or the TLS handshake took too long.
            throw new KmsUpstreamException(
                bounded.IsCancellationRequested
                    ? string.Create(CultureInfo.InvariantCulture, $"KMS at {_authority} did not answer within {_options.CallTimeout.TotalSeconds:0.###} s")
                    : string.Create(CultureInfo.InvariantCulture, $"KMS at {_authority} could not be reached within {_options.ConnectTimeout.TotalSeconds:0.###} s (tunnel and TLS handshake)"),
                ex);
        }
        catch (HttpRequestException ex)
        {
            throw new KmsUpstreamException($"KMS at {_authority} could not be asked: {Describe(ex)}", ex);
        }
        catch (IOException ex)
        {
            throw new KmsUpstreamException($"KMS at {_authority} broke off its answer: {Describe(ex)}", ex);
        }
    }

    /// <summary>Closes the pooled connections.</summary>
    public void Dispose() => _client.Dispose();

    private async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var limit = _options.MaxAnswerBytes;
        if (content.Headers.ContentLength > limit)
        {
            throw new KmsUpstreamException(string.Create(CultureInfo.InvariantCulture, $"KMS at {_authority} answered {content.Headers.ContentLength} bytes, more than the {limit} read"));
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[16 << 10];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new KmsUpstreamException(string.Create(CultureInfo.InvariantCulture, $"KMS at {_authority} answered more than the {limit} bytes read"));
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    // HttpClient's own wrappers say "see inner exception"; the first exception below them says what happened (the
    // tunnel's refusal, "the remote certificate is invalid because of errors in the certificate chain: …", …).
    private static string Describe(Exception exception)
    {
        var cause = exception;
        while (cause is HttpRequestException { InnerException: { } inner })
        {
            cause = inner;
        }

        return cause.Message.ReplaceLineEndings(" ");
    }
}
