using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Enclave.Kms;
using Cloister.Host.Egress;
using Cloister.Kms.Credentials;
using Cloister.Kms.Upstream;
using Cloister.Runtime.Vsock;
using Cloister.Testing;
using Cloister.Testing.Kms;

namespace Cloister.Enclave.Tests.Kms;

/// <summary>
/// The supervisor's KMS upstream over the real path: <see cref="EgressTunnel"/> over the simulated vsock to the host's
/// real <see cref="EgressForwarder"/> (7002), TLS end to end to a local HTTPS server standing in for KMS.
/// </summary>
public sealed class KmsUpstreamThroughHostTests : IAsyncLifetime, IDisposable
{
    private const uint EnclaveCid = 16;
    private readonly TempRunDirectory _run = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly X509Certificate2 _root = ProvisioningPki.CertificateAuthority("Test KMS Root");
    private VsockListener? _listener;
    private Task? _forwarding;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        if (_forwarding is not null)
        {
            await _forwarding;
        }
    }

    public void Dispose()
    {
        _root.Dispose();
        _stop.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task A_call_goes_through_the_hosts_forwarder_with_tls_end_to_end()
    {
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(_root, "localhost"), _ => (200, """{"Plaintext":"AA=="}"""u8.ToArray()));
        await StartForwarderAsync(allowPrivate: true);
        using var upstream = Create(kms.Url);

        var reply = await upstream.SendAsync(new KmsCall("TrentService.GenerateRandom", """{"NumberOfBytes":1}"""u8.ToArray()), CancellationToken.None);

        Assert.Equal((200, """{"Plaintext":"AA=="}"""), (reply.StatusCode, Encoding.UTF8.GetString(reply.Body)));
        var request = Assert.Single(kms.Requests);
        Assert.Equal("""{"NumberOfBytes":1}""", Encoding.UTF8.GetString(request.Body));
        Assert.Contains(request.Headers, header => header.Key.Equals("X-Amz-Target", StringComparison.OrdinalIgnoreCase) && header.Value == "TrentService.GenerateRandom");
        Assert.Contains(_log, line => line.Contains($"localhost:{kms.Port}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_destination_the_host_refuses_fails_the_call_with_the_hosts_reason()
    {
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(_root, "localhost"), _ => (200, "{}"u8.ToArray()));
        await StartForwarderAsync(allowPrivate: false);
        using var upstream = Create(kms.Url);

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.GenerateRandom", "{}"u8.ToArray()), CancellationToken.None));

        Assert.StartsWith($"KMS at localhost:{kms.Port} could not be asked: the host refused egress to localhost:{kms.Port}: ", ex.Message, StringComparison.Ordinal);
        Assert.Empty(kms.Requests);
    }

    [Fact]
    public async Task Without_the_hosts_forwarder_the_call_fails_in_one_line()
    {
        using var upstream = Create(new Uri("https://kms.us-east-1.amazonaws.com/"));

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.GenerateRandom", "{}"u8.ToArray()), CancellationToken.None));

        Assert.StartsWith($"KMS at kms.us-east-1.amazonaws.com could not be asked: the host's egress forwarder (vsock {VsockEndpoint.EgressPort}) is unreachable: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    private KmsUpstream Create(Uri endpoint)
    {
        var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = EnclaveCid });
        return new KmsUpstream(new KmsUpstreamOptions
        {
            Endpoint = endpoint,
            Region = "us-east-1",
            TrustRoots = [_root],
            OpenTunnel = (host, port, cancellationToken) => EgressTunnel.OpenAsync(enclave, host, port, cancellationToken),
            Credentials = _ => ValueTask.FromResult(new AwsCredentials("AKIDEXAMPLE", "secret", null, null)),
        });
    }

    private async Task StartForwarderAsync(bool allowPrivate)
    {
        var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = VsockEndpoint.HostCid });
        _listener = await host.ListenAsync(VsockEndpoint.EgressPort);
        _forwarding = new EgressForwarder(new EgressForwarderOptions
        {
            AllowPrivateDestinations = allowPrivate,
            // The test server listens on 127.0.0.1 only; no hosts file decides what localhost is.
            Resolve = (_, _) => Task.FromResult(new[] { IPAddress.Loopback }),
            Log = e => _log.Enqueue(e.ToString()),
        }).RunAsync(_listener, _stop.Token);
    }
}
