using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Cloister.Attestation.Simulation;
using Cloister.Cli.Provisioning;
using Cloister.Provisioner.Api;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary>
/// The issue's durability promises, with real provisioner processes: <c>kill -9</c> in the middle of a burst of
/// secret writes loses none that was acknowledged; provisioners sharing one PostgreSQL database redeem each token once.
/// </summary>
public sealed class ProvisionerDurabilityTests : IClassFixture<PostgresServer>, IDisposable
{
    private const int Writes = 1000;
    private const int KillAfter = 300;
    private const int Concurrency = 16;

    private readonly TempRunDirectory _scratch = new();
    private readonly PostgresServer _postgres;

    public ProvisionerDurabilityTests(PostgresServer postgres)
    {
        _postgres = postgres;
        var init = CliRunner.Run("provisioner", "init", Directory, "--url", "https://127.0.0.1:1");
        Assert.True(init.ExitCode == 0, init.ToString());
        Credentials = ProvisionerCredentials.Read(Path.Combine(Directory, "operator.json"));
    }

    private string Directory => Path.Combine(_scratch.Path, "provisioner");

    private ProvisionerCredentials Credentials { get; }

    [Fact]
    public Task Sqlite_loses_no_acknowledged_secret_write_to_kill_9() => KillDuringBurstAsync();

    [Fact]
    public Task Postgres_loses_no_acknowledged_secret_write_to_kill_9() => KillDuringBurstAsync("--database", _postgres.Url(_postgres.CreateDatabase()));

    [Fact]
    public Task Two_provisioners_on_one_postgres_database_redeem_each_token_exactly_once() =>
        TwoProvisionersRedeemEachTokenOnceAsync(tokens: 25, "--database", _postgres.Url(_postgres.CreateDatabase()));

    [Fact]
    public void Serve_stops_on_SIGTERM_with_exit_0_and_keeps_what_it_stored()
    {
        using (var server = ProvisionerProcess.Start(Directory))
        {
            Assert.True(Deploy(server.Url, "kept").ExitCode == 0);
            var (exitCode, output) = server.Terminate();
            Assert.True(exitCode == 0, output);
            Assert.Contains("provisioner stopping", output, StringComparison.Ordinal);
        }

        using var restarted = ProvisionerProcess.Start(Directory);
        var list = CliRunner.Run("secrets", "list", "kept", "--credentials", OperatorFile, "--provisioner", restarted.Url.ToString());
        Assert.True(list.ExitCode == 0, list.ToString());
    }

    public void Dispose() => _scratch.Dispose();

    /// <summary>
    /// Writes <see cref="Writes"/> secrets, <see cref="Concurrency"/> at a time, kills the provisioner with SIGKILL
    /// once <see cref="KillAfter"/> are acknowledged, starts it again on the same storage and lists them: every
    /// acknowledged name must be there at (at least) its acknowledged version.
    /// </summary>
    private async Task KillDuringBurstAsync(params string[] serveOptions)
    {
        var acknowledged = new ConcurrentDictionary<string, int>();
        using (var server = ProvisionerProcess.Start(Directory, serveOptions))
        {
            using var client = OperatorClient.Create(Credentials, server.Url, TimeSpan.FromSeconds(30));
            Assert.True(Deploy(server.Url, "durable").ExitCode == 0);
            var killed = 0;
            using var gate = new SemaphoreSlim(Concurrency);
            var writes = Enumerable.Range(0, Writes).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var name = string.Create(CultureInfo.InvariantCulture, $"S{i:D4}");
                    using var content = new ByteArrayContent(Encoding.UTF8.GetBytes($"value-{i}")) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
                    var answer = await client.SendAsync(HttpMethod.Put, $"/v1/deployments/durable/secrets/{name}", content, OperatorJson.Default.SecretVersion, CancellationToken.None);
                    acknowledged[answer.Name] = answer.Version;
                    if (acknowledged.Count >= KillAfter && Interlocked.Exchange(ref killed, 1) == 0)
                    {
                        server.KillHard();
                    }
                }
                catch (CommandFailedException)
                {
                    // In flight when the process died: not acknowledged, so nothing is promised about it.
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(writes);
            Assert.Equal(1, killed);
        }

        Assert.InRange(acknowledged.Count, KillAfter, Writes - 1);
        using var restarted = ProvisionerProcess.Start(Directory, serveOptions);
        using var again = OperatorClient.Create(Credentials, restarted.Url, TimeSpan.FromSeconds(30));
        var stored = (await again.SendAsync(HttpMethod.Get, "/v1/deployments/durable/secrets", content: null, OperatorJson.Default.SecretList, CancellationToken.None))
            .Secrets.ToDictionary(secret => secret.Name, secret => secret.Version);
        var lost = acknowledged.Where(write => !stored.TryGetValue(write.Key, out var version) || version < write.Value).Select(write => write.Key).Order().ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {acknowledged.Count} acknowledged writes lost: {string.Join(", ", lost.Take(20))}");
    }

    /// <summary>
    /// Two provisioner processes on one database; each token is offered to both at once, twice each: exactly one
    /// request is granted, and its answer opens with the document's key to the deployment's answer.
    /// </summary>
    private async Task TwoProvisionersRedeemEachTokenOnceAsync(int tokens, params string[] serveOptions)
    {
        using var root = SimulatedNitroRoot.Create();
        var rootPem = Path.Combine(_scratch.Path, "nitro-root.pem");
        await File.WriteAllTextAsync(rootPem, root.ExportCertificatePem());
        var options = new SoftwareNsmOptions();
        foreach (var index in (int[])[0, 1, 2])
        {
            options.Pcrs[index] = SHA384.HashData([(byte)index, 0x5a]);
        }

        using var nsm = new SoftwareNsm(root, options);
        using var first = ProvisionerProcess.Start(Directory, [.. serveOptions, "--attestation-root", rootPem]);
        using var second = ProvisionerProcess.Start(Directory, [.. serveOptions, "--attestation-root", rootPem]);
        var measurements = Path.Combine(_scratch.Path, "measurements.json");
        await File.WriteAllTextAsync(measurements, $$$"""{"Measurements": {"PCR0": "{{{Hex(options.Pcrs[0])}}}", "PCR1": "{{{Hex(options.Pcrs[1])}}}", "PCR2": "{{{Hex(options.Pcrs[2])}}}"}}""");
        var deployed = Deploy(first.Url, "shared", measurements);
        Assert.True(deployed.ExitCode == 0, deployed.ToString());
        var hostFile = Path.Combine(_scratch.Path, "host.json");
        var added = CliRunner.Run("provisioner", "host", "add", "relay-host", "-o", hostFile, "--credentials", OperatorFile, "--provisioner", second.Url.ToString());
        Assert.True(added.ExitCode == 0, added.ToString());
        using var host = OperatorClient.Create(ProvisionerCredentials.Read(hostFile), first.Url, TimeSpan.FromSeconds(30));
        using var enclave = new EnclaveCaller(Credentials.Pin);

        for (var i = 0; i < tokens; i++)
        {
            var token = (await host.SendJsonAsync(
                HttpMethod.Post, ProvisioningProtocol.TokensPath, new TokenRequest { Deployment = "shared" },
                ProvisioningJson.Default.TokenRequest, ProvisioningJson.Default.TokenResponse, CancellationToken.None)).Token;
            var (document, key) = EnclaveCaller.Attest(nsm, token);
            using (key)
            {
                var answers = await Task.WhenAll(((Uri[])[first.Url, second.Url, first.Url, second.Url])
                    .Select(url => Task.Run(() => enclave.ProvisionAsync(url, "shared", token, document))));
                var granted = Assert.Single(answers, answer => answer is not null);
                var opened = ProvisioningEnvelope.Open(granted, key, ProvisioningToken.HashOf(token));
                var answer = System.Text.Json.JsonSerializer.Deserialize(opened, ProvisioningJson.Default.ProvisioningAnswer)!;
                Assert.Equal("shared", answer.Deployment);
            }
        }
    }

    private string OperatorFile => Path.Combine(Directory, "operator.json");

    private ProcessResult Deploy(Uri provisioner, string deployment, string? measurements = null)
    {
        if (measurements is null)
        {
            measurements = Path.Combine(_scratch.Path, $"{deployment}.json");
            var pcr = Hex(new byte[48]);
            File.WriteAllText(measurements, $$$"""{"Measurements": {"PCR0": "{{{pcr}}}", "PCR1": "{{{pcr}}}", "PCR2": "{{{pcr}}}"}}""");
        }

        return CliRunner.Run("deploy", "--deployment", deployment, "--measurements", measurements, "--hostname", $"{deployment}.example.com", "--credentials", OperatorFile, "--provisioner", provisioner.ToString());
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
