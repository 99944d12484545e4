using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Cloister.Enclave.Ingress;

/// <summary>
/// Forwards a decrypted request to the app on 127.0.0.1 as plaintext HTTP/1.1, whatever the client spoke (HTTP/1.1 or
/// HTTP/2), through one pooled <see cref="SocketsHttpHandler"/>: bodies stream both ways, headers are copied minus
/// hop-by-hop ones, the forwarding headers are added, the app's trailers follow its body (<see cref="ClientBody"/>), and
/// an HTTP/1.1 <c>Upgrade</c> or an HTTP/2 extended CONNECT (WebSockets either way) becomes an opaque two-way tunnel after
/// the app's 101. The app down is 502, the app too slow to answer is 504.
/// </summary>
internal sealed class AppForwarder : IDisposable
{
    // Enough for most answers whole; a larger body continues straight into Kestrel's own buffers.
    private const int FirstReadSize = 16 * 1024;

    private static readonly UriCreationOptions s_rawPath = new() { DangerousDisablePathAndQueryCanonicalization = true };

    private readonly HttpMessageInvoker _app;
    private readonly TimeSpan _responseTimeout;

    public AppForwarder(TimeSpan responseTimeout)
    {
        _responseTimeout = responseTimeout;
        _app = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            // The app is on loopback: a connect that takes longer is a connect that will not happen.
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            // No tracing headers of our own: the app sees what the client sent, plus the forwarding headers.
            ActivityHeadersPropagator = null,
        });
    }

    public void Dispose() => _app.Dispose();

    /// <summary>Forwards one request to 127.0.0.1:<paramref name="appPort"/> and copies the answer back.</summary>
    public async Task ForwardAsync(HttpContext context, int appPort)
    {
        var tunnel = ClientTunnel.From(context);
        using var request = CreateRequest(context, appPort, tunnel);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(_responseTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _app.SendAsync(request, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            await FailAsync(context, StatusCodes.Status504GatewayTimeout, $"the app on 127.0.0.1:{appPort} did not answer within {_responseTimeout.TotalSeconds:0} s");
            return;
        }
        catch (HttpRequestException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await FailAsync(context, StatusCodes.Status502BadGateway, $"the app on 127.0.0.1:{appPort} is unreachable: {Describe(ex)}");
            return;
        }

        using (response)
        {
            // Headers are in: the rest (the body, a tunnel) runs as long as the client keeps the request.
            deadline.CancelAfter(Timeout.InfiniteTimeSpan);
            if (tunnel is not null && response.StatusCode == HttpStatusCode.SwitchingProtocols)
            {
                CopyResponseHeaders(context, response, tunnel);
                await TunnelAsync(context, tunnel, response);
                return;
            }

            CopyResponseHeaders(context, response, tunnel: null);
            await CopyBodyAsync(context, response);
        }
    }

    private static HttpRequestMessage CreateRequest(HttpContext context, int appPort, ClientTunnel? tunnel)
    {
        var incoming = context.Request;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var target = rawTarget is ['/', ..] ? rawTarget : string.Concat(incoming.PathBase.ToUriComponent(), incoming.Path.ToUriComponent(), incoming.QueryString.ToUriComponent());
        var request = new HttpRequestMessage(tunnel?.AppMethod(incoming) ?? HttpMethod.Parse(incoming.Method), new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{appPort}{target}"), in s_rawPath))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        if (tunnel is null && context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true })
        {
            request.Content = new RequestBodyContent(incoming.BodyReader);
        }

        var connection = incoming.Headers.Connection;
        foreach (var (name, values) in incoming.Headers)
        {
            if (name.StartsWith(':') || HopByHopHeaders.Contains(name, connection) || ForwardedHeaders.IsWrittenHere(name))
            {
                continue;
            }

            // Host goes through as the client used it, so the app builds its links from that name; only a nonce prefix goes.
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Host = ForwardedHeaders.IntendedHost(incoming.Host);
                continue;
            }

            if (!TryAdd(request.Headers, name, values) && request.Content is { } content)
            {
                TryAdd(content.Headers, name, values);
            }
        }

        tunnel?.AddUpgradeHeaders(request);

        ForwardedHeaders.Add(context, request);
        return request;
    }

    // `tunnel` is set when the app accepted one: its 101 decides which upgrade headers reach the client.
    private static void CopyResponseHeaders(HttpContext context, HttpResponseMessage response, ClientTunnel? tunnel)
    {
        context.Response.StatusCode = (int)response.StatusCode;
        var target = context.Response.Headers;
        var connection = response.Headers.NonValidated.TryGetValues("Connection", out var listed) ? ToStringValues(listed) : StringValues.Empty;
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            // Hop-by-hop headers stop here unless an accepted tunnel needs one, or it is the app's declaration of the
            // trailers that are forwarded too (ClientBody); of the rest, only what a tunnel forbids does.
            var hopByHop = HopByHopHeaders.Contains(name, connection) && !name.Equals("Trailer", StringComparison.OrdinalIgnoreCase);
            if (hopByHop ? tunnel?.PassesResponseHeader(name) != true : tunnel?.DropsResponseHeader(name) == true)
            {
                continue;
            }

            target[name] = ToStringValues(values);
        }

        foreach (var (name, values) in response.Content.Headers.NonValidated)
        {
            target[name] = ToStringValues(values);
        }
    }

    private static bool TryAdd(HttpHeaders headers, string name, StringValues values) =>
        values.Count == 1 ? headers.TryAddWithoutValidation(name, values[0]) : headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);

    private static StringValues ToStringValues(HeaderStringValues values) =>
        values.Count == 1 ? new StringValues(values.ToString()) : new StringValues([.. values]);

    private static async Task CopyBodyAsync(HttpContext context, HttpResponseMessage response)
    {
        var client = new ClientBody(context, response);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            if (!await CopyBufferedStartAsync(context, body, client, response))
            {
                return;
            }

            while (await client.CopyOnceAsync(body))
            {
            }

            // The app's trailers are known once its body has been read to the end.
            if (!context.RequestAborted.IsCancellationRequested)
            {
                await client.CompleteAsync(response.TrailingHeaders);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !context.RequestAborted.IsCancellationRequested)
        {
            // The app broke off mid-body; the status is long sent, so the client learns it from an aborted stream.
            context.Abort();
        }
    }

    // The app's headers go out at once, however long its body takes. But a small answer usually arrives whole, its body
    // already buffered when its headers are parsed: then it leaves with its length (or, to an HTTP/1.1 client with
    // trailers, as one chunk and its trailers), headers and body in one TLS record and one write, as nginx sends it,
    // instead of headers, body and (for an app that chunks) the last chunk in three. Only once the response has started
    // does Kestrel's HTTP/1.1 writer hand out real buffer memory to read into, so what is already here is gathered in a
    // pooled buffer. Returns whether the body goes on (not when it has been sent whole or the client has gone).
    private static async ValueTask<bool> CopyBufferedStartAsync(HttpContext context, Stream body, ClientBody client, HttpResponseMessage response)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FirstReadSize);
        try
        {
            var held = 0;
            ValueTask<int> reading;
            while (true)
            {
                reading = body.ReadAsync(buffer.AsMemory(held), context.RequestAborted);
                if (!reading.IsCompleted)
                {
                    break;
                }

                var read = await reading;
                if (read == 0)
                {
                    await client.SendWholeAsync(buffer.AsMemory(0, held), response.TrailingHeaders);
                    return false;
                }

                held += read;
                if (held == buffer.Length)
                {
                    return await client.SendAsync(buffer.AsMemory(0, held));
                }
            }

            // The rest is still on its way: what is here goes out now, and the pending read fills the buffer's free part.
            if (held == 0)
            {
                await client.StartAsync();
            }
            else if (!await client.SendAsync(buffer.AsMemory(0, held)))
            {
                await reading;
                return false;
            }

            // At the body's end the caller's next read finds the end again, and completes the body with the trailers.
            var last = await reading;
            return last == 0 || await client.SendAsync(buffer.AsMemory(held, last));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task TunnelAsync(HttpContext context, ClientTunnel tunnel, HttpResponseMessage response)
    {
        await using var app = await response.Content.ReadAsStreamAsync(context.RequestAborted);
        await using var client = await tunnel.AcceptAsync(context);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        var toApp = CopyUntilEndAsync(client, app, stop);
        var toClient = CopyUntilEndAsync(app, client, stop);
        await Task.WhenAll(toApp, toClient);
    }

    // A tunnel has no half-close on Kestrel's upgraded stream: when either side ends, both directions end.
    private static async Task CopyUntilEndAsync(Stream from, Stream to, CancellationTokenSource stop)
    {
        try
        {
            await from.CopyToAsync(to, stop.Token);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or HttpRequestException)
        {
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    private static async Task FailAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(message + "\n"), context.RequestAborted);
    }

    private static string Describe(HttpRequestException ex) =>
        ex.InnerException is SocketException socket ? socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            _ => socket.Message,
        }
        : ex.Message;
}
