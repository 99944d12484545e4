using System.Net;
using Cloister.Host.Supervision;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Provisioning;

/// <summary>
/// The host's part in provisioning (docs/provisioning.md): one token fetched before boot, so that a revoked host or an
/// unreachable provisioner fails the run at once, then the token service (vsock 7005) and the provisioner relay (7003).
/// </summary>
public sealed class HostProvisioning : IDisposable
{
    /// <summary>The bound on connecting to the provisioner and on each token request.</summary>
    public static readonly TimeSpan NetworkTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How long a relayed connection may carry nothing: a provisioning exchange is one request and one answer.</summary>
    public static readonly TimeSpan RelayIdleTimeout = TimeSpan.FromSeconds(60);

    private readonly ProvisionerTokenClient _client;

    private HostProvisioning(ProvisionerTokenClient client, IReadOnlyList<HostService> services)
    {
        _client = client;
        Services = services;
    }

    /// <summary>The relay (7003) and the token service (7005), for <see cref="HostSupervisorOptions.Services"/>.</summary>
    public IReadOnlyList<HostService> Services { get; }

    /// <summary>Fetches the first token and prepares the services.</summary>
    /// <param name="credentials">The host's credentials.</param>
    /// <param name="provisioner">The provisioner's URL, when it is not the credentials' (<c>--provisioner</c>).</param>
    /// <param name="deployment">The manifest's <c>provisioning.token_audience</c>.</param>
    /// <param name="notice">Receives the host's lines.</param>
    /// <param name="cancellationToken">Cancels the first fetch.</param>
    /// <returns>The prepared provisioning; the caller disposes it after the run.</returns>
    /// <exception cref="ArgumentNullException">A reference argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="provisioner"/> is not an https:// URL, or <paramref name="deployment"/> is empty.</exception>
    /// <exception cref="ProvisionerUnavailableException">The first token could not be fetched (unreachable, pin mismatch, refused).</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The credentials' certificate and key do not form a client identity.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<HostProvisioning> StartAsync(
        ProvisionerCredentials credentials, Uri? provisioner, string deployment, Action<string> notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(notice);
        var url = provisioner ?? credentials.Provisioner;
        var client = new ProvisionerTokenClient(credentials, url, deployment, NetworkTimeout);
        try
        {
            var first = await client.FetchAsync(cancellationToken);
            notice($"provisioning: {url} issued a token for deployment '{deployment}' to host '{credentials.Name}'");
            var tokens = new TokenService(first, client.FetchAsync, TimeProvider.System, notice);
            var relay = new ProvisionerRelay(new DnsEndPoint(url.IdnHost.Trim('[', ']'), url.Port), NetworkTimeout, RelayIdleTimeout, notice);
            return new HostProvisioning(client,
            [
                HostService.PerConnection(VsockEndpoint.ProvisionerPort, "provisioner relay", relay.ServeAsync),
                HostService.PerConnection(VsockEndpoint.ProvisioningTokenPort, "provisioning tokens", tokens.ServeAsync),
            ]);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();
}
