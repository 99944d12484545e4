using System.Net;
using Cloister.Provisioner.Identity;
using Cloister.Provisioner.Storage;
using Microsoft.AspNetCore.Builder;

namespace Cloister.Provisioner;

/// <summary>A provisioner started by <see cref="ProvisionerServer.StartAsync"/>; disposing it stops the listener and closes the store.</summary>
public sealed class RunningProvisioner : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IProvisionerStore _store;
    private readonly ProvisionerIdentity _identity;

    internal RunningProvisioner(WebApplication app, IProvisionerStore store, ProvisionerIdentity identity, IPEndPoint endpoint)
    {
        _app = app;
        _store = store;
        _identity = identity;
        Endpoint = endpoint;
    }

    /// <summary>The bound endpoint (the actual port when port 0 was asked for).</summary>
    public IPEndPoint Endpoint { get; }

    /// <summary>The listener's URL, <c>https://address:port</c>.</summary>
    public Uri Url => new($"https://{Endpoint}");

    /// <summary>The pin of the provisioner's TLS key.</summary>
    public ReadOnlyMemory<byte> Pin => _identity.Pin;

    /// <summary>The store the provisioner uses (for tests and administrative tools; the HTTP API is the interface).</summary>
    public IProvisionerStore Store => _store;

    /// <summary>Stops accepting requests, lets the ones in progress finish, and releases the store and keys.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        _identity.Dispose();
    }
}
