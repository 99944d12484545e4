using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Host.Provisioning;
using Cloister.Host.Supervision;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Host.Tests.Provisioning;

/// <summary>The host's token service (vsock 7005) and provisioner relay (7003) against a real HTTPS provisioner.</summary>
public sealed class HostProvisioningTests : IAsyncLifetime, IDisposable
{
    private const uint EnclaveCid = 16;
    private readonly TempRunDirectory _run = new();
    private readonly FakeProvisioner _provisioner = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _notices = new();
    private readonly List<(VsockListener Listener, Task Serving)> _served = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var (listener, serving) in _served)
        {
            await listener.DisposeAsync();
            await serving;
        }

        await _provisioner.DisposeAsync();
    }

    public void Dispose()
    {
        _stop.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task The_first_connection_gets_the_token_fetched_before_boot_and_later_ones_fresh_tokens()
    {
        using var provisioning = await StartAsync(_provisioner.HostCredentials());
        Assert.Single(_provisioner.Issued);
        await ServeAsync(provisioning.Services);

        var first = await ReadTokenLineAsync();
        var second = await ReadTokenLineAsync();

        Assert.Equal<string>(_provisioner.Issued.ToArray(), [first.Token, second.Token]);
        Assert.NotEqual(first.Token, second.Token);
        Assert.True(second.ExpiresAt > DateTimeOffset.UtcNow);
        Assert.Contains(_notices, notice => notice.StartsWith("provisioning: gave the enclave the token fetched before boot", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_that_cannot_be_had_later_is_an_error_line()
    {
        using var provisioning = await StartAsync(_provisioner.HostCredentials());
        await ServeAsync(provisioning.Services);
        await ReadTokenLineAsync();
        _provisioner.Revoked["host-a"] = true;

        var line = await ReadLineAsync(VsockEndpoint.ProvisioningTokenPort);

        var error = JsonSerializer.Deserialize(line, ProvisioningJson.Default.ProvisioningError)!;
        Assert.Equal($"the provisioner at {_provisioner.Url} refused a token for deployment 'payments': 403 host 'host-a' is revoked", error.Error);
    }

    [Fact]
    public async Task A_revoked_host_fails_before_boot()
    {
        _provisioner.Revoked["host-a"] = true;

        var ex = await Assert.ThrowsAsync<ProvisionerUnavailableException>(() => StartAsync(_provisioner.HostCredentials()));

        Assert.Equal($"the provisioner at {_provisioner.Url} refused a token for deployment 'payments': 403 host 'host-a' is revoked", ex.Message);
        Assert.Empty(_provisioner.Issued);
    }

    [Fact]
    public async Task A_certificate_from_another_client_ca_is_refused_by_the_provisioner()
    {
        using var otherCa = ProvisioningPki.CertificateAuthority("someone else's CA");

        var ex = await Assert.ThrowsAsync<ProvisionerUnavailableException>(() => StartAsync(_provisioner.HostCredentials(issuer: otherCa)));

        Assert.EndsWith("403 a host certificate is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provisioner_with_another_key_is_refused_before_any_request()
    {
        using var impostor = ProvisioningPki.ServerCertificate();

        var ex = await Assert.ThrowsAsync<ProvisionerUnavailableException>(() => StartAsync(_provisioner.HostCredentials(pin: ProvisionerPin.Of(impostor))));

        Assert.Equal($"the provisioner at {_provisioner.Url} presented a key that does not match the credentials' pinned_sha256", ex.Message);
        Assert.Empty(_provisioner.Server.Requests);
    }

    [Fact]
    public async Task An_unknown_deployment_fails_before_boot()
    {
        var ex = await Assert.ThrowsAsync<ProvisionerUnavailableException>(
            () => HostProvisioning.StartAsync(_provisioner.HostCredentials(), null, "billing", _notices.Enqueue, CancellationToken.None));

        Assert.EndsWith("refused a token for deployment 'billing': 404 no deployment 'billing'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_provisioner_fails_before_boot()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var ex = await Assert.ThrowsAsync<ProvisionerUnavailableException>(
            () => HostProvisioning.StartAsync(_provisioner.HostCredentials(), new Uri($"https://127.0.0.1:{closedPort}/"), FakeProvisioner.Deployment, _notices.Enqueue, CancellationToken.None));

        Assert.StartsWith($"cannot reach the provisioner at https://127.0.0.1:{closedPort}/: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task A_provisioner_that_never_answers_times_out()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var url = new Uri($"https://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/");
        using var client = new ProvisionerTokenClient(_provisioner.HostCredentials(), url, FakeProvisioner.Deployment, TimeSpan.FromMilliseconds(300));

        var ex = await Assert.ThrowsAsync<ProvisionerUnavailableException>(() => client.FetchAsync(CancellationToken.None));

        Assert.Equal($"the provisioner at {url} did not answer within 0.3 s", ex.Message);
    }

    [Fact]
    public async Task The_relay_carries_bytes_unchanged_both_ways()
    {
        // A TCP peer that records what it receives and answers with bytes of its own: each direction is checked on its own.
        using var peer = new TcpListener(IPAddress.Loopback, 0);
        peer.Start();
        var toProvisioner = RandomNumberGenerator.GetBytes((2 * 1024 * 1024) + 5);
        var toEnclave = RandomNumberGenerator.GetBytes((1024 * 1024) + 3);
        var peerSide = Task.Run(async () =>
        {
            using var socket = await peer.AcceptSocketAsync();
            await using var stream = new NetworkStream(socket);
            var sending = stream.WriteAsync(toEnclave).AsTask().ContinueWith(_ => socket.Shutdown(SocketShutdown.Send), TaskScheduler.Default);
            var received = new MemoryStream();
            await stream.CopyToAsync(received);
            await sending;
            return received.ToArray();
        });
        var relay = new ProvisionerRelay(new DnsEndPoint("127.0.0.1", ((IPEndPoint)peer.LocalEndpoint).Port), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), _notices.Enqueue);
        await ServeAsync([HostService.PerConnection(VsockEndpoint.ProvisionerPort, "provisioner relay", relay.ServeAsync)]);

        await using var enclave = await EnclaveTransport().ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.ProvisionerPort));
        var writing = Task.Run(async () =>
        {
            await enclave.WriteAsync(toProvisioner);
            enclave.CompleteWrites();
        });
        var back = new MemoryStream();
        await enclave.CopyToAsync(back);
        await writing;

        Assert.Equal(SHA256.HashData(toProvisioner), SHA256.HashData(await peerSide));
        Assert.Equal(SHA256.HashData(toEnclave), SHA256.HashData(back.ToArray()));
    }

    [Fact]
    public async Task The_relay_closes_the_enclaves_connection_when_the_provisioner_is_unreachable()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var relay = new ProvisionerRelay(new DnsEndPoint("127.0.0.1", closedPort), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), _notices.Enqueue);
        await ServeAsync([HostService.PerConnection(VsockEndpoint.ProvisionerPort, "provisioner relay", relay.ServeAsync)]);

        await using var enclave = await EnclaveTransport().ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.ProvisionerPort));

        Assert.Equal(0, await enclave.ReadAsync(new byte[16]));
        Assert.Contains(_notices, notice => notice.StartsWith($"provisioner relay: cannot connect to 127.0.0.1:{closedPort}: ", StringComparison.Ordinal));
    }

    private Task<HostProvisioning> StartAsync(ProvisionerCredentials credentials) =>
        HostProvisioning.StartAsync(credentials, null, FakeProvisioner.Deployment, _notices.Enqueue, CancellationToken.None);

    private async Task ServeAsync(IReadOnlyList<HostService> services)
    {
        var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = VsockEndpoint.HostCid });
        foreach (var service in services)
        {
            var listener = await host.ListenAsync(service.Port);
            _served.Add((listener, service.Start(listener, _notices.Enqueue, _stop.Token).Serving));
        }
    }

    private VsockTransport EnclaveTransport() =>
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = EnclaveCid });

    private async Task<TokenResponse> ReadTokenLineAsync() =>
        JsonSerializer.Deserialize(await ReadLineAsync(VsockEndpoint.ProvisioningTokenPort), ProvisioningJson.Default.TokenResponse)!;

    // One connection, one line, then the end of the stream.
    private async Task<byte[]> ReadLineAsync(uint port)
    {
        await using var stream = await EnclaveTransport().ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, port));
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        var bytes = all.ToArray();
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.Equal(1, bytes.Count(b => b == (byte)'\n'));
        return bytes[..^1];
    }
}
