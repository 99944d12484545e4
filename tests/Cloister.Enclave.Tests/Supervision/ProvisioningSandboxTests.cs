using System.Net;
using System.Security.Cryptography;
using Cloister.Enclave.Provisioning;
using Cloister.Enclave.Tests.Provisioning;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Host.Provisioning;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Supervision;

/// <summary>
/// The published supervisor provisions before it starts the app: a token from the host's 7005, HTTPS through the host's
/// relay on 7003 (the real <see cref="TokenService"/> and <see cref="ProvisionerRelay"/>) to a provisioner over TCP.
/// </summary>
[Collection(PublishedSupervisorDefinition.Name)]
public sealed class ProvisioningSandboxTests(PublishedSupervisorFixture supervisor)
{
    [Fact]
    public async Task The_secret_reaches_the_apps_environment_and_nothing_else()
    {
        await using var provisioner = new FakeEnclaveProvisioner();
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, Manifest(ProvisionerPin.Of(provisioner.TlsCertificate)));
        await using var host = await HostSideAsync(scenario, provisioner);

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>([new BootingEvent(), new ProvisionedEvent(), new ReadyEvent(), new ExitedEvent(0, null)], statuses);
        Assert.Contains(new LogRecord(LogSource.Stdout, "API_KEY=tops3cret", false), logs);
        Assert.Contains(logs, record => record.Source == LogSource.Supervisor && record.Text.EndsWith("; API_KEY (v3)", StringComparison.Ordinal));
        // Only the app's own output carries the value: the supervisor never logs it, nor tells the console.
        Assert.DoesNotContain(logs, record => record.Source != LogSource.Stdout && record.Text.Contains("tops3cret", StringComparison.Ordinal));
        Assert.DoesNotContain("tops3cret", result.Stdout + result.Stderr, StringComparison.Ordinal);
        var (request, document) = Assert.Single(provisioner.Received);
        Assert.Equal(ProvisioningToken.HashOf(request.Token), document.UserData);
        Assert.Equal(Assert.Single(host.Tokens), request.Token);
    }

    [Fact]
    public async Task A_provisioner_with_another_key_is_refused_and_the_app_never_starts()
    {
        await using var provisioner = new FakeEnclaveProvisioner();
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, Manifest(RandomNumberGenerator.GetBytes(ProvisionerPin.Size)));
        await using var host = await HostSideAsync(scenario, provisioner);

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == EnclaveSupervisor.ProvisioningRefused, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>(
            [new BootingEvent(), new ProvisioningRefusedEvent(ProvisioningClient.PinMismatchReason), new ExitedEvent(EnclaveSupervisor.ProvisioningRefused, null)],
            statuses);
        Assert.DoesNotContain(logs, record => record.Source == LogSource.Stdout);
        Assert.Empty(provisioner.Received);
    }

    [Fact]
    public async Task With_api_crypto_the_app_encrypts_and_decrypts_through_the_local_api()
    {
        await using var provisioner = new FakeEnclaveProvisioner();
        using var outside = provisioner.PublicKey.CreateEncryptor();
        var script = $$"""
            wget -q -Y off -O /tmp/enc --header 'Content-Type: application/json' --post-data '{"card":"4111 1111 1111 1111","n":7}' http://127.0.0.1:9999/encrypt; echo "encrypt $?"
            wget -q -Y off -O - --header 'Content-Type: application/json' --post-data "$(cat /tmp/enc)" http://127.0.0.1:9999/decrypt; echo
            wget -q -Y off -O - --header 'Content-Type: application/json' --post-data '{"from":"{{outside.EncryptToString("made outside"u8, Cloister.Encryption.Ciphertexts.PlaintextKind.String)}}"}' http://127.0.0.1:9999/decrypt; echo
            """;
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, Manifest(ProvisionerPin.Of(provisioner.TlsCertificate), script, crypto: true));
        await using var host = await HostSideAsync(scenario, provisioner);

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal(["encrypt 0", """{"card":"4111 1111 1111 1111","n":7}""", """{"from":"made outside"}"""], logs.Where(record => record.Source == LogSource.Stdout).Select(record => record.Text));
        Assert.StartsWith("""{"card":"cl:""", await File.ReadAllTextAsync(scenario.Rootfs.At("tmp/enc")), StringComparison.Ordinal);
        Assert.Contains(logs, record => record.Source == LogSource.Supervisor && record.Text.EndsWith($"; encryption key {provisioner.KeyId} versions 1 (current 1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_api_crypto_an_answer_without_keys_is_a_refusal_and_the_app_never_starts()
    {
        await using var provisioner = new FakeEnclaveProvisioner();
        provisioner.Answer = (request, document) => FakeEnclaveProvisioner.Seal(request, document.PublicKey!, new ProvisioningAnswer
        {
            Deployment = FakeEnclaveProvisioner.Deployment,
            CertificateAuthority = provisioner.Granted.CertificateAuthority,
            Secrets = provisioner.Granted.Secrets,
            Keys = new ProvisionedKeyRing { KeyId = provisioner.Granted.Keys.KeyId, CurrentVersion = 1, Versions = [] },
        });
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, Manifest(ProvisionerPin.Of(provisioner.TlsCertificate), crypto: true));
        await using var host = await HostSideAsync(scenario, provisioner);

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == EnclaveSupervisor.ProvisioningRefused, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>(
            [new BootingEvent(), new ProvisioningRefusedEvent("the provisioner's answer has no encryption keys, and api.crypto needs them"), new ExitedEvent(EnclaveSupervisor.ProvisioningRefused, null)],
            statuses);
        Assert.DoesNotContain(logs, record => record.Source == LogSource.Stdout);
    }

    private static EnclaveManifest Manifest(byte[] pin, string script = "echo \"API_KEY=$API_KEY\"", bool crypto = false)
    {
        var shell = SupervisorScenario.Shell(script);
        return new EnclaveManifest
        {
            Name = shell.Name,
            Image = shell.Image,
            Cmd = shell.Cmd,
            Api = new LocalApiSettings { Crypto = crypto },
            Provisioning = new ProvisioningSettings { Url = new Uri("https://localhost/"), PinnedSha256 = pin, TokenAudience = FakeEnclaveProvisioner.Deployment },
        };
    }

    private static async Task<HostSide> HostSideAsync(SupervisorScenario scenario, FakeEnclaveProvisioner provisioner)
    {
        var side = new HostSide();
        var relay = new ProvisionerRelay(new DnsEndPoint("127.0.0.1", provisioner.Server.Port), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), side.Notices.Enqueue);
        var tokens = new TokenService(side.NextToken(), _ => Task.FromResult(side.NextToken()), TimeProvider.System, side.Notices.Enqueue);
        await side.ServeAsync(scenario.Host.Transport, VsockEndpoint.ProvisionerPort, relay.ServeAsync);
        await side.ServeAsync(scenario.Host.Transport, VsockEndpoint.ProvisioningTokenPort, tokens.ServeAsync);
        return side;
    }

    /// <summary>The host's provisioning services for one run, as <c>cloister run</c> wires them.</summary>
    private sealed class HostSide : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<(VsockListener Listener, Task Serving)> _served = [];

        public System.Collections.Concurrent.ConcurrentQueue<string> Notices { get; } = new();

        public System.Collections.Concurrent.ConcurrentQueue<string> Tokens { get; } = new();

        public TokenResponse NextToken()
        {
            var token = "v1." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            Tokens.Enqueue(token);
            return new TokenResponse { Token = token, ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5) };
        }

        public async Task ServeAsync(VsockTransport transport, uint port, Func<VsockStream, CancellationToken, Task> serve)
        {
            var listener = await transport.ListenAsync(port);
            _served.Add((listener, AcceptLoop.RunAsync(listener.AcceptAsync, async (VsockStream stream, CancellationToken token) =>
            {
                await using (stream)
                {
                    await serve(stream, token);
                }
            }, _stop.Token)));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            foreach (var (listener, serving) in _served)
            {
                await listener.DisposeAsync();
                await serving;
            }

            _stop.Dispose();
        }
    }
}
