using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.Build.Tests.Images;

/// <summary>
/// A Kestrel server on loopback in front of a real registry: it forwards the distribution API, and on request acts
/// as a token-protected registry (a <c>WWW-Authenticate: Bearer</c> challenge and a <c>/token</c> endpoint, optionally
/// demanding Basic credentials), redirects blob downloads elsewhere, or flips a byte of every blob it passes on.
/// It counts what it serves, which is how the cache tests see that no blob was fetched.
/// </summary>
internal sealed class LoopbackProxy : IAsyncDisposable
{
    private const string Service = "cloister-test-registry";
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private int _refusals;

    private LoopbackProxy(WebApplication app, string upstream)
    {
        _app = app;
        _upstream = new HttpClient { BaseAddress = new Uri($"http://{upstream}/") };
    }

    /// <summary><c>127.0.0.1:PORT</c>.</summary>
    public string Address { get; private set; } = "";

    /// <summary>Demand a Bearer token on the API; tokens come from <c>/token</c>.</summary>
    public bool RequireToken { get; set; }

    /// <summary>When set, <c>/token</c> issues tokens only to a request with these Basic credentials.</summary>
    public (string User, string Password)? TokenCredential { get; set; }

    /// <summary>The token response's <c>expires_in</c> as raw JSON, or <see langword="null"/> to leave it out (Docker's spec: 60 s).</summary>
    public string? ExpiresIn { get; set; } = "300";

    /// <summary>When set, the token response carries an <c>issued_at</c> this long before now.</summary>
    public TimeSpan? IssuedAgo { get; set; }

    /// <summary>The clock that dates tokens and judges them expired.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>Refuse every token, fresh or not.</summary>
    public bool RejectTokens { get; set; }

    /// <summary>How many API requests were answered 401 for a missing, expired or rejected token.</summary>
    public int Refusals => _refusals;

    /// <summary>Overrides the realm URL in the challenge (to point it somewhere the client must refuse).</summary>
    public string? Realm { get; set; }

    /// <summary>Answer blob GETs with a 307 to this base URL + <c>/redirected</c> + the path; <see langword="null"/> serves them directly.</summary>
    public string? RedirectBlobsTo { get; set; }

    /// <summary>Answer this many of the next API requests with 503 Service Unavailable.</summary>
    public int FailNext { get; set; }

    /// <summary>Never answer API requests: hold each until the client gives up.</summary>
    public bool Stall { get; set; }

    /// <summary>Flip one bit in the middle of every blob body.</summary>
    public bool CorruptBlobs { get; set; }

    /// <summary>Each request as <c>METHOD path auth=scheme</c>, in arrival order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    public int CountRequests(string pathFragment) => _requests.Count(r => r.Contains(pathFragment, StringComparison.Ordinal));

    public void ClearRequests() => _requests.Clear();

    /// <summary>Forgets every token issued so far, as a registry does whose signing key rotated.</summary>
    public void RevokeTokens() => _tokens.Clear();

    public static async Task<LoopbackProxy> StartAsync(string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var proxy = new LoopbackProxy(app, upstream);
        app.Run(proxy.HandleAsync);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        proxy.Address = $"127.0.0.1:{address.Port}";
        return proxy;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var authorization = request.Headers.Authorization.ToString();
        _requests.Enqueue($"{request.Method} {path}{request.QueryString} auth={authorization.Split(' ')[0]}");

        if (path == "/token")
        {
            await IssueTokenAsync(context);
            return;
        }

        if (Stall)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (FailNext > 0)
        {
            FailNext--;
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        var redirected = path.StartsWith("/redirected/", StringComparison.Ordinal);
        if (redirected)
        {
            path = path["/redirected".Length..];
        }
        else if (RequireToken && !IsValidToken(authorization))
        {
            Interlocked.Increment(ref _refusals);
            var repository = path.StartsWith("/v2/", StringComparison.Ordinal) && path.LastIndexOf("/manifests/", StringComparison.Ordinal) is var m and > 0
                ? path[4..m]
                : path.LastIndexOf("/blobs/", StringComparison.Ordinal) is var b and > 4 ? path[4..b] : "";
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate =
                $"Bearer realm=\"{Realm ?? $"http://{Address}/token"}\",service=\"{Service}\",scope=\"repository:{repository}:pull\""
                + (authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? ",error=\"invalid_token\"" : "");
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}""");
            return;
        }

        if (!redirected && RedirectBlobsTo is not null && path.Contains("/blobs/", StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            context.Response.Headers.Location = $"{RedirectBlobsTo}/redirected{path}?signature=presigned";
            return;
        }

        await ForwardAsync(context, path);
    }

    private async Task IssueTokenAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (query["service"] != Service || !query["scope"].ToString().StartsWith("repository:", StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (TokenCredential is { } credential)
        {
            var expected = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{credential.User}:{credential.Password}"));
            if (context.Request.Headers.Authorization != expected)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsync("""{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}""");
                return;
            }
        }

        var token = Guid.NewGuid().ToString("N");
        var issued = Clock.GetUtcNow() - (IssuedAgo ?? TimeSpan.Zero);
        _tokens[token] = issued.AddSeconds(long.TryParse(ExpiresIn ?? "60", out var seconds) ? seconds : 60);
        var fields = new List<string> { $"\"token\":\"{token}\"" };
        if (ExpiresIn is not null)
        {
            fields.Add($"\"expires_in\":{ExpiresIn}");
        }

        if (IssuedAgo is not null)
        {
            fields.Add($"\"issued_at\":\"{issued.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\"");
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync("{" + string.Join(',', fields) + "}");
    }

    private bool IsValidToken(string authorization) =>
        !RejectTokens
        && authorization.StartsWith("Bearer ", StringComparison.Ordinal)
        && _tokens.TryGetValue(authorization[7..], out var expires)
        && Clock.GetUtcNow() < expires;

    private async Task ForwardAsync(HttpContext context, string path)
    {
        using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), path.TrimStart('/') + context.Request.QueryString);
        foreach (var accept in context.Request.Headers.Accept)
        {
            forward.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (header.Key is not ("Transfer-Encoding" or "Connection"))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        var body = await response.Content.ReadAsByteArrayAsync();
        if (CorruptBlobs && path.Contains("/blobs/", StringComparison.Ordinal) && body.Length > 0)
        {
            body[body.Length / 2] ^= 0x01;
        }

        await context.Response.Body.WriteAsync(body);
    }
}
