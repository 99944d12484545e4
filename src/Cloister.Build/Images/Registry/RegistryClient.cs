using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Cloister.Build.Images.Registry;

/// <summary>
/// The OCI distribution API for one repository: GETs with the registry's authentication dance (Bearer tokens from
/// the realm it names, or Basic), redirects followed by hand so each hop obeys the transport rule, timeouts, and
/// retries of 5xx answers and broken connections.
/// </summary>
/// <remarks>
/// Transport rule: plain HTTP only to loopback hosts and to hosts in <see cref="RegistryOptions.InsecureRegistries"/>;
/// it is checked before every request, including token realms and redirect targets. Credentials go only to the
/// registry and its token realm, never to a redirect target (blob storage gets presigned URLs).
/// </remarks>
internal sealed class RegistryClient : IDisposable
{
    private const int MaxRedirects = 5;

    private readonly HttpClient _http;
    private readonly RegistryOptions _options;
    private readonly string _registry;
    private readonly string _repository;
    private readonly Uri _base;
    private AuthenticationHeaderValue? _authorization;

    public RegistryClient(string registry, string repository, RegistryOptions options)
    {
        _registry = registry;
        _repository = repository;
        _options = options;

        // Docker Hub's API lives on a different host than its name.
        var host = registry == ImageReference.DockerHubRegistry ? "registry-1.docker.io" : registry;
        var plain = new Uri($"http://{host}/");
        _base = new Uri($"{(AllowsPlainHttp(plain) ? "http" : "https")}://{host}/v2/{repository}/");
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.RequestTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseCookies = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("cloister", "0.1"));
    }

    /// <summary>The API root, e.g. <c>http://127.0.0.1:5000/v2/app/</c>.</summary>
    public Uri BaseAddress => _base;

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// GETs <c>/v2/&lt;name&gt;/&lt;path&gt;</c> (<c>path</c> like <c>manifests/v1</c> or <c>blobs/sha256:…</c>) and hands
    /// the successful response to <c>read</c>, retrying both on transient failures; <c>what</c> names the thing
    /// fetched in errors, e.g. "manifest v1 of 127.0.0.1:5000/app:v1".
    /// </summary>
    public async Task<T> FetchAsync<T>(
        string path, IReadOnlyList<string> accept, string what, Func<HttpResponseMessage, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        var uri = new Uri(_base, path);
        var authenticated = false;
        var attempt = 1;
        while (true)
        {
            try
            {
                using var response = await SendAsync(uri, accept, what, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Unauthorized && !authenticated)
                {
                    await AuthenticateAsync(response, what, cancellationToken);
                    authenticated = true;
                    continue;
                }

                if ((int)response.StatusCode >= 500 && attempt < _options.MaxAttempts)
                {
                    await BackoffAsync(attempt++, cancellationToken);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw await FailureAsync(response, what, cancellationToken);
                }

                return await read(response, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && attempt < _options.MaxAttempts && !cancellationToken.IsCancellationRequested)
            {
                await BackoffAsync(attempt++, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                throw new ImageSourceException(ImageSourceError.Unavailable, $"{what}: {uri.GetLeftPart(UriPartial.Authority)} failed after {attempt} attempts: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Reads a response body whole, refusing more than <paramref name="maxLength"/> bytes.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, int maxLength, string what, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > maxLength)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{what}: the registry sends {response.Content.Headers.ContentLength} bytes, more than {maxLength}");
        }

        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[maxLength + 1];
        var length = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return length <= maxLength
            ? buffer[..length]
            : throw new ImageSourceException(ImageSourceError.Malformed, $"{what}: the registry sends more than {maxLength} bytes");
    }

    /// <summary>Sends one GET, following redirects; the registry's authorization goes only to the registry's own host.</summary>
    private async Task<HttpResponseMessage> SendAsync(Uri uri, IReadOnlyList<string> accept, string what, CancellationToken cancellationToken)
    {
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            var authorization = uri.Authority == _base.Authority && uri.Scheme == _base.Scheme ? _authorization : null;
            var response = await SendOnceAsync(uri, accept, authorization, what, cancellationToken);
            if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                uri = new Uri(uri, location);
                response.Dispose();
                continue;
            }

            return response;
        }

        throw new ImageSourceException(ImageSourceError.Unavailable, $"{what}: more than {MaxRedirects} redirects");
    }

    private async Task<HttpResponseMessage> SendOnceAsync(
        Uri uri, IReadOnlyList<string> accept, AuthenticationHeaderValue? authorization, string what, CancellationToken cancellationToken)
    {
        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && AllowsPlainHttp(uri)))
        {
            throw new ImageSourceException(
                ImageSourceError.InsecureTransport,
                $"{what}: refusing {uri.Scheme}://{uri.Authority}: plain HTTP is allowed only to loopback hosts and registries declared insecure (--insecure-registry {uri.Authority})");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, uri) { Version = HttpVersion.Version11 };
        foreach (var mediaType in accept)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }

        request.Headers.Authorization = authorization;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ImageSourceException(
                ImageSourceError.Unavailable, $"{what}: no answer from {uri.GetLeftPart(UriPartial.Authority)} within {_options.RequestTimeout.TotalSeconds:0.#} s", ex);
        }
    }

    private bool AllowsPlainHttp(Uri uri) =>
        uri.IsLoopback
        || _options.InsecureRegistries.Contains(uri.Authority, StringComparer.OrdinalIgnoreCase)
        || _options.InsecureRegistries.Contains(uri.Host, StringComparer.OrdinalIgnoreCase);

    /// <summary>Answers a 401: fetches a Bearer token from the realm the challenge names, or prepares Basic credentials.</summary>
    private async Task AuthenticateAsync(HttpResponseMessage unauthorized, string what, CancellationToken cancellationToken)
    {
        var header = unauthorized.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            ?? unauthorized.Headers.WwwAuthenticate.FirstOrDefault(h => h.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            ?? throw new ImageSourceException(ImageSourceError.Unauthorized, $"{what}: {_registry} answered 401 without a Bearer or Basic challenge");
        var credential = _options.Credentials?.Find(_registry);
        var basic = credential is null
            ? null
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}")));
        var challenge = AuthenticationChallenge.Parse(header.Scheme, header.Parameter);
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            _authorization = basic ?? throw new ImageSourceException(
                ImageSourceError.Unauthorized, $"{what}: {_registry} requires credentials (Basic) and none are configured for it");
            return;
        }

        var realm = challenge["realm"] is { Length: > 0 } r && Uri.TryCreate(r, UriKind.Absolute, out var realmUri)
            ? realmUri
            : throw new ImageSourceException(ImageSourceError.Unauthorized, $"{what}: {_registry}'s Bearer challenge has no valid realm ('{challenge["realm"]}')");
        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : "");
        if (challenge["service"] is { } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        query.Append("scope=").Append(Uri.EscapeDataString(challenge["scope"] ?? $"repository:{_repository}:pull"));
        var tokenUri = new UriBuilder(realm) { Query = query.ToString() }.Uri;
        var tokenWhat = $"token for {what} from {realm.GetLeftPart(UriPartial.Path)}";
        using var response = await SendOnceAsync(tokenUri, ["application/json"], basic, tokenWhat, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, tokenWhat, cancellationToken);
        }

        var fields = new JsonFields(tokenWhat);
        using var document = fields.Parse(await ReadBodyAsync(response, 1 << 20, tokenWhat, cancellationToken));
        var root = fields.Object(document.RootElement, "$");
        var token = fields.OptionalString(root, "token", "token") ?? fields.OptionalString(root, "access_token", "access_token");
        _authorization = token is { Length: > 0 }
            ? new AuthenticationHeaderValue("Bearer", token)
            : throw fields.Missing("token");
    }

    private async Task<ImageSourceException> FailureAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        // Registries explain themselves in {"errors":[{"code":…,"message":…}]}; a line of it helps more than the status.
        var head = new byte[300];
        await using var content = await response.Content.ReadAsStreamAsync(cancellationToken);
        var length = await content.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken);
        var body = length > 0 ? ": " + Encoding.UTF8.GetString(head, 0, length).Trim() : "";
        var status = $"HTTP {(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Path)}{body}";
        return response.StatusCode switch
        {
            HttpStatusCode.NotFound => new ImageSourceException(ImageSourceError.NotFound, $"{what}: not found ({status})"),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new ImageSourceException(
                ImageSourceError.Unauthorized,
                $"{what}: access denied{(_options.Credentials?.Find(_registry) is { } c ? $" for user '{c.Username}'" : " (no credentials configured)")} ({status})"),
            _ => new ImageSourceException(ImageSourceError.Unavailable, $"{what}: {status}"),
        };
    }

    private static Task BackoffAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(TimeSpan.FromMilliseconds(200 * (1 << Math.Min(attempt - 1, 4))), cancellationToken);
}
