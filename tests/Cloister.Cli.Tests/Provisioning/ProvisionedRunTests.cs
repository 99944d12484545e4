using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Build.RuntimeBundles;
using Cloister.Host.Tests.TestEnclave;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Relay;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary>
/// Provisioning end to end, everything real: <c>cloister provisioner init/serve</c> (SQLite), <c>deploy</c> with the
/// measurements <c>cloister build</c> wrote, <c>secrets set</c>, <c>provisioner host add</c>, then <c>cloister run</c>
/// of an image with the Cloister runtime in the simulator: the host gets a token with its certificate, the supervisor
/// proves itself with an NSM document through the host's relay, and the app sees the secret. Each refusal is checked
/// where the user sees it (the run's exit and its one line) and where the operator does (the audit log).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ProvisionedRunTests : IClassFixture<ProvisionedRunTests.Setup>
{
    private const string AlphaSecret = "alpha-s3cret-value";
    private const string BetaSecret = "beta-s3cret-value";
    private readonly Setup _setup;

    public ProvisionedRunTests(Setup setup) => _setup = setup;

    [Fact]
    public void A_deployed_image_gets_its_secret_and_nothing_of_another_deployment()
    {
        var marker = _setup.LastAuditId();

        var result = _setup.Run(_setup.Alpha, _setup.HostCredentials);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"SECRET={AlphaSecret}", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaSecret, result.Stdout + result.Stderr, StringComparison.Ordinal);
        var grant = Assert.Single(_setup.AuditAfter(marker), entry => entry.Action == "provision");
        Assert.Equal(("granted", "alpha", "runner"), (grant.Outcome, grant.Deployment, grant.Host));
        Assert.Contains(_setup.AlphaPcr2, grant.Pcrs, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_whose_PCRs_are_in_no_set_of_its_deployment_is_refused_and_its_app_never_starts()
    {
        var marker = _setup.LastAuditId();

        var result = _setup.Run(_setup.Beta, _setup.HostCredentials);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("refused", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET=", result.Stdout, StringComparison.Ordinal);
        var refusal = Assert.Single(_setup.AuditAfter(marker), entry => entry.Action == "provision");
        Assert.Equal(("refused", "beta"), (refusal.Outcome, refusal.Deployment));
        Assert.StartsWith("pcrs", refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_enclave_that_meets_a_provisioner_with_another_key_refuses_to_talk()
    {
        var marker = _setup.LastAuditId();

        var result = _setup.Run(_setup.WrongPin, _setup.HostCredentials);

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("does not match provisioning.pinned_sha256", result.Stderr + result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(_setup.AuditAfter(marker), entry => entry.Action == "provision");
    }

    [Fact]
    public void A_revoked_host_cannot_start_a_provisioned_enclave()
    {
        var credentials = _setup.AddHost("revoked-host");
        var revoke = _setup.Operator("provisioner", "host", "revoke", "revoked-host");
        Assert.True(revoke.ExitCode == 0, revoke.ToString());

        var result = _setup.Run(_setup.Alpha, credentials);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.StartsWith("cloister: ", StringComparison.Ordinal) && line.Contains("provisioner", StringComparison.Ordinal));
        Assert.DoesNotContain("SECRET=", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_relay_that_records_every_byte_both_ways_learns_no_secret()
    {
        await using var recorder = await RecordingRelay.StartAsync(_setup.Server.Url);

        var result = _setup.Run(_setup.Alpha, _setup.HostCredentials, recorder.Url);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"SECRET={AlphaSecret}", result.Stdout, StringComparison.Ordinal);
        var (up, down) = recorder.Captured();
        Assert.True(up.Length > 0 && down.Length > 0, $"{up.Length} bytes up, {down.Length} down");
        foreach (var captured in new[] { up, down })
        {
            Assert.Equal(-1, captured.AsSpan().IndexOf(Encoding.UTF8.GetBytes(AlphaSecret)));
            Assert.Equal(-1, captured.AsSpan().IndexOf("SECRET"u8));
            Assert.Equal(-1, captured.AsSpan().IndexOf("BEGIN"u8));
        }
    }

    /// <summary>One provisioner (<see cref="ProvisionerFixture"/>), two deployments, three images and a host for the class.</summary>
    public sealed class Setup : IDisposable
    {
        private readonly ProvisionerFixture _provisioner;

        public Setup()
        {
            ExternalTool.Require("bwrap", "bubblewrap");
            _provisioner = new ProvisionerFixture();
            var pin = ProvisionerCredentials.Read(_provisioner.OperatorCredentials).Pin;
            using var runtime = RuntimeBundle.Read(Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName));
            Alpha = Build("alpha", pin, "alpha", runtime);
            Beta = Build("beta", pin, "beta", runtime);
            WrongPin = Build("wrong-pin", RandomNumberGenerator.GetBytes(ProvisionerPin.Size), "alpha", runtime);
            AlphaPcr2 = JsonDocument.Parse(File.ReadAllText(Path.Combine(Alpha, "measurements.json"))).RootElement.GetProperty("Measurements").GetProperty("PCR2").GetString()!;

            Expect(Operator("deploy", "--deployment", "alpha", "--measurements", Path.Combine(Alpha, "measurements.json"), "--hostname", "alpha.example.com"));
            // beta is deployed with the measurements of another image: its own image is in none of its sets.
            Expect(Operator("deploy", "--deployment", "beta", "--measurements", Path.Combine(WrongPin, "measurements.json"), "--hostname", "beta.example.com"));
            Expect(_provisioner.Operator(Encoding.UTF8.GetBytes(AlphaSecret), "secrets", "set", "alpha", "SECRET"));
            Expect(_provisioner.Operator(Encoding.UTF8.GetBytes(BetaSecret), "secrets", "set", "beta", "SECRET"));
            HostCredentials = AddHost("runner");
        }

        internal ProvisionerProcess Server => _provisioner.Server;

        public string Alpha { get; }

        public string Beta { get; }

        public string WrongPin { get; }

        public string AlphaPcr2 { get; }

        public string HostCredentials { get; }

        internal ProcessResult Run(string image, string credentials, Uri? provisioner = null) =>
            CliRunner.Run("run", image, "--sim-root", _provisioner.SimRoot, "--provisioner-credentials", credentials, "--provisioner", (provisioner ?? Server.Url).ToString(), "--grace-period", "1");

        internal ProcessResult Operator(params string[] args) => _provisioner.Operator(args);

        public string AddHost(string name)
        {
            var credentials = Path.Combine(_provisioner.Scratch, $"{name}.json");
            Expect(Operator("provisioner", "host", "add", name, "-o", credentials));
            return credentials;
        }

        public long LastAuditId() => Audit().Select(entry => entry.Id).DefaultIfEmpty(0).Max();

        public IReadOnlyList<AuditLine> AuditAfter(long id) => [.. Audit().Where(entry => entry.Id > id)];

        public void Dispose() => _provisioner.Dispose();

        private List<AuditLine> Audit()
        {
            var result = Operator("provisioner", "audit", "--json", "--limit", "1000");
            Expect(result);
            using var page = JsonDocument.Parse(result.Stdout);
            return [.. page.RootElement.GetProperty("entries").EnumerateArray().Select(entry => new AuditLine(
                entry.GetProperty("id").GetInt64(),
                entry.GetProperty("action").GetString()!,
                entry.GetProperty("outcome").GetString()!,
                Text(entry, "deployment"),
                Text(entry, "host"),
                Text(entry, "reason"),
                entry.TryGetProperty("pcrs", out var pcrs) ? pcrs.GetRawText() : ""))];
        }

        private static string Text(JsonElement entry, string name) =>
            entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

        private string Build(string name, byte[] pin, string deployment, RuntimeBundle runtime)
        {
            var output = Path.Combine(_provisioner.Scratch, name);
            var provisioning = new ProvisioningSettings { Url = new Uri("https://127.0.0.1:1/"), PinnedSha256 = pin, TokenAudience = deployment };
            TestEnclaveImage.BuildProvisionedAsync(output, runtime, provisioning, "echo \"SECRET=$SECRET\"").GetAwaiter().GetResult();
            return output;
        }

        private static void Expect(ProcessResult result) => Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>One audit entry as <c>cloister provisioner audit --json</c> prints it.</summary>
    public sealed record AuditLine(long Id, string Action, string Outcome, string Deployment, string Host, string Reason, string Pcrs);

    /// <summary>A TCP relay between the host and the provisioner that keeps every byte it passes, both ways.</summary>
    private sealed class RecordingRelay : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly DnsEndPoint _target;
        private readonly MemoryStream _up = new();
        private readonly MemoryStream _down = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        private RecordingRelay(Uri provisioner)
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _target = new DnsEndPoint(provisioner.Host, provisioner.Port);
            _accepting = AcceptLoop.RunAsync(_listener.AcceptSocketAsync, RelayAsync, _stop.Token);
        }

        public Uri Url => new($"https://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

        public static Task<RecordingRelay> StartAsync(Uri provisioner) => Task.FromResult(new RecordingRelay(provisioner));

        public (byte[] Up, byte[] Down) Captured()
        {
            lock (_up)
            {
                lock (_down)
                {
                    return (_up.ToArray(), _down.ToArray());
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _accepting;
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task RelayAsync(Socket client, CancellationToken cancellationToken)
        {
            using var clientStream = new NetworkStream(client, ownsSocket: true);
            using var server = new TcpClient();
            await server.ConnectAsync(_target.Host, _target.Port, cancellationToken);
            using var serverStream = server.GetStream();
            await Task.WhenAll(CopyAsync(clientStream, serverStream, _up, cancellationToken), CopyAsync(serverStream, clientStream, _down, cancellationToken));
        }

        private static async Task CopyAsync(NetworkStream from, NetworkStream to, MemoryStream record, CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int read;
                while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    lock (record)
                    {
                        record.Write(buffer, 0, read);
                    }

                    await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                to.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                // Either side went away: the other direction ends too.
            }
        }
    }
}
