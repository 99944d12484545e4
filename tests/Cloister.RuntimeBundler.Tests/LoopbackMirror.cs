using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.RuntimeBundler.Tests;

/// <summary>A Debian mirror on 127.0.0.1: a real Kestrel serving the files put into it at their paths, 404 for the rest.</summary>
internal sealed class LoopbackMirror : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();

    private LoopbackMirror(WebApplication app) => _app = app;

    /// <summary>The mirror's root, ending in <c>/</c>.</summary>
    public Uri Root { get; private set; } = null!;

    /// <summary>Every request's decoded path, in order.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    public static async Task<LoopbackMirror> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var mirror = new LoopbackMirror(app);
        app.Run(mirror.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        mirror.Root = new Uri(address + "/");
        return mirror;
    }

    /// <summary>Serves <paramref name="contents"/> at <paramref name="path"/> (relative to the root, unescaped).</summary>
    public void Put(string path, byte[] contents) => _files[path] = contents;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value!.TrimStart('/');
        _requests.Enqueue(path);
        if (!_files.TryGetValue(path, out var contents))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentLength = contents.Length;
        await context.Response.Body.WriteAsync(contents);
    }
}
