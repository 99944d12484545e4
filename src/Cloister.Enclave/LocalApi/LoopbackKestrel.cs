using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Cloister.Enclave.LocalApi;

/// <summary>
/// Kestrel on 127.0.0.1 for the supervisor's servers to the app (the local API, the KMS proxy): an empty builder (no
/// configuration files, no logging, no routing), every request to one handler; everything it uses is NativeAOT-clean.
/// </summary>
internal static class LoopbackKestrel
{
    /// <summary>Starts serving <paramref name="handle"/> on 127.0.0.1:<paramref name="port"/>.</summary>
    /// <param name="port">The port, or 0 for any.</param>
    /// <param name="maxRequestBodySize">Kestrel's bound on a request body (a handler may raise it for its own requests).</param>
    /// <param name="handle">Answers every request.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The started app (the caller stops and disposes it) and the bound port.</returns>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<(WebApplication App, int Port)> StartAsync(int port, long maxRequestBodySize, RequestDelegate handle, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxRequestBodySize;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.Run(handle);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return (app, new Uri(address).Port);
    }
}
