using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>
/// The app behind attested ingress: a real Kestrel on 127.0.0.1 speaking plain HTTP/1.1. <c>/headers</c> answers what it
/// received, one <c>name: value</c> line each (and <c>protocol</c>, <c>method</c>, <c>target</c>); <c>/stream</c> and
/// <c>/upload</c> wait on the test mid-body, so a proxy that buffered would never let them finish; <c>/slow</c> never
/// answers; <c>/ws</c> echoes WebSocket messages.
/// </summary>
internal sealed class EchoApp : IAsyncDisposable
{
    public const string FirstPart = "first part|";
    public const string UploadMarker = "hello";

    private readonly WebApplication _app;

    private EchoApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Completed by the test once it has read <see cref="FirstPart"/>; only then does <c>/stream</c> write the rest.</summary>
    public TaskCompletionSource ResponseGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed by the app once <c>/upload</c> has read <see cref="UploadMarker"/>, while the client still holds the rest of its body back.</summary>
    public TaskCompletionSource UploadStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<EchoApp> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        EchoApp? echo = null;
        app.UseWebSockets();
        app.Run(context => echo!.HandleAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        echo = new EchoApp(app, new Uri(address).Port);
        return echo;
    }

    public async ValueTask DisposeAsync()
    {
        ResponseGate.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>What <c>/large</c> answers, chunked: more than the forwarder gathers before it sends.</summary>
    public static readonly string LargeBody = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i:D5};"));

    private async Task HandleAsync(HttpContext context)
    {
        switch (context.Request.Path.Value)
        {
            case "/headers":
                var lines = new StringBuilder();
                lines.Append("protocol: ").Append(context.Request.Protocol).Append('\n');
                lines.Append("method: ").Append(context.Request.Method).Append('\n');
                lines.Append("target: ").Append(context.Request.Path).Append(context.Request.QueryString).Append('\n');
                foreach (var (name, values) in context.Request.Headers)
                {
                    lines.Append(name.ToLowerInvariant()).Append(": ").Append(string.Join(" | ", values.ToArray())).Append('\n');
                }

                context.Response.Headers["X-App-Header"] = "from the app";
                context.Response.Headers["Keep-Alive"] = "timeout=5";
                await context.Response.WriteAsync(lines.ToString());
                break;
            case "/stream":
                await context.Response.WriteAsync(FirstPart);
                await context.Response.Body.FlushAsync();
                await ResponseGate.Task.WaitAsync(context.RequestAborted);
                await context.Response.WriteAsync("second part");
                break;
            case "/upload":
                await UploadAsync(context);
                break;
            case "/large":
                await context.Response.WriteAsync(LargeBody);
                break;
            case "/slow":
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
                break;
            case "/ws" when context.WebSockets.IsWebSocketRequest:
                using (var socket = await context.WebSockets.AcceptWebSocketAsync())
                {
                    await EchoMessagesAsync(socket, context.RequestAborted);
                }

                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }

    private async Task UploadAsync(HttpContext context)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            received.Write(buffer, 0, read);
            if (received.Length >= UploadMarker.Length)
            {
                UploadStarted.TrySetResult();
            }
        }

        await context.Response.WriteAsync($"received {received.Length} bytes: {Encoding.UTF8.GetString(received.ToArray())}");
    }

    private static async Task EchoMessagesAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cancellationToken);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, cancellationToken);
        }
    }
}
