using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Cloister.Build.Images.Registry;

/// <summary>
/// The OCI distribution API for one repository: GETs with the registry's authentication dance (Bearer tokens from
/// the realm it names, or Basic), redirects followed by hand so each hop obeys the transport rule, timeouts, and
/// retries of 5xx answers and broken connections.
/// </summary>
/// <remarks>
/// <para>Transport rule: plain HTTP only to loopback hosts and to hosts in <see cref="RegistryOptions.InsecureRegistries"/>;
/// it is checked before every request, including token realms and redirect targets. Credentials go only to the
/// registry and its token realm, never to a redirect target (blob storage gets presigned URLs).</para>
/// <para>A Bearer token lives <c>expires_in</c> seconds (60 when absent, as Docker's token spec says) from its
/// <c>issued_at</c>, or from when it was asked for; a new one is fetched from the same realm before the next request
/// once it is within <see cref="TokenRefreshMargin"/> (at most half its life) of expiring, and after a 401 (once per
/// request: a second 401 is the answer).</para>
/// </remarks>
internal sealed class RegistryClient : IDisposable
{
    /// <summary>How long before its expiry a token is replaced: a request sent just in time may arrive too late.</summary>
    public static readonly TimeSpan TokenRefreshMargin = TimeSpan.FromSeconds(10);

    private const int MaxRedirects = 5;
    private const long DefaultTokenLifetimeSeconds = 60;

    /// <summary>Longer lives are taken as a day: a token is then fetched daily, and no date arithmetic overflows.</summary>
    private const long MaxTokenLifetimeSeconds = 24 * 60 * 60;

    private readonly HttpClient _http;
    private readonly RegistryOptions _options;
    private readonly string _registry;
    private readonly string _repository;
    private readonly Uri _base;
    private AuthenticationHeaderValue? _authorization;
    private TokenRequest? _tokenRequest;
    private DateTimeOffset _tokenRefreshAt;

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
                // A token just fetched for this request's 401 is used even when the realm handed out a stale one.
                if (!authenticated && _tokenRequest is { } tokenRequest && _options.Clock.GetUtcNow() >= _tokenRefreshAt)
                {
                    await FetchTokenAsync(tokenRequest, cancellationToken);
                }

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
            _tokenRequest = null;
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
        var request = new TokenRequest(new UriBuilder(realm) { Query = query.ToString() }.Uri, basic, $"token for {what} from {realm.GetLeftPart(UriPartial.Path)}");
        await FetchTokenAsync(request, cancellationToken);
        _tokenRequest = request;
    }

    /// <summary>Asks the realm for a token (Docker's token spec) and notes when to ask for the next one.</summary>
    private async Task FetchTokenAsync(TokenRequest request, CancellationToken cancellationToken)
    {
        var asked = _options.Clock.GetUtcNow();
        using var response = await SendOnceAsync(request.Uri, ["application/json"], request.Credentials, request.What, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await FailureAsync(response, request.What, cancellationToken);
        }

        var fields = new JsonFields(request.What);
        using var document = fields.Parse(await ReadBodyAsync(response, 1 << 20, request.What, cancellationToken));
        var root = fields.Object(document.RootElement, "$");
        var token = fields.OptionalString(root, "token", "token") ?? fields.OptionalString(root, "access_token", "access_token");
        if (token is not { Length: > 0 })
        {
            throw fields.Missing("token");
        }

        var lifetime = TimeSpan.FromSeconds(Math.Min(ExpiresIn(fields, root), MaxTokenLifetimeSeconds));
        // issued_at can only shorten the life: a token minted before it was asked for has less of it left, while one
        // "minted" after is the token server's clock running ahead of ours.
        var issued = fields.OptionalTime(root, "issued_at", "issued_at") is { } at && at < asked ? at : asked;
        var margin = TokenRefreshMargin < lifetime / 2 ? TokenRefreshMargin : lifetime / 2;
        _authorization = new AuthenticationHeaderValue("Bearer", token);
        _tokenRefreshAt = issued + lifetime - margin;
    }

    private static long ExpiresIn(JsonFields fields, JsonElement root)
    {
        if (!root.TryGetProperty("expires_in", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return DefaultTokenLifetimeSeconds;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds) && seconds > 0
            ? seconds
            : throw fields.Wrong("expires_in", "a positive whole number of seconds", value);
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

    /// <summary>Where a Bearer token comes from: the realm with service and scope, and the Basic credentials for it.</summary>
    private sealed record TokenRequest(Uri Uri, AuthenticationHeaderValue? Credentials, string What);
}
