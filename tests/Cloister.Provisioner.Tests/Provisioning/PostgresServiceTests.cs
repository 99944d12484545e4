using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Provisioner.Tests.Provisioning;

/// <summary>Two provisioners on one PostgreSQL database are one service.</summary>
public sealed class PostgresServiceTests : IClassFixture<PostgresServer>
{
    private readonly PostgresServer _server;

    public PostgresServiceTests(PostgresServer server) => _server = server;

    [Fact]
    public async Task A_token_issued_by_one_provisioner_is_redeemed_at_the_other_once()
    {
        var database = _server.Url(_server.CreateDatabase());
        await using var first = await ProvisionerHarness.StartAsync(database);
        await using var second = await SecondAsync(first, database);
        var hostCertificate = await first.HostCertificateAsync("host-1");
        var pcrs = ProvisionerHarness.RandomPcrs();
        await first.DeployAsync("web", pcrs);
        await first.SetSecretAsync("web", "API_KEY", "from-the-first");

        var token = await ProvisionerHarness.TokenAsync(first.Client(hostCertificate), "web");
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var nsm = first.Nsm(pcrs);
        var atSecond = first.Client(provisioner: second.Url);
        using (var granted = await ProvisionerHarness.ProvisionAsync(atSecond, "web", token, ProvisionerHarness.Document(nsm, ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo())))
        {
            Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
            var sealedAnswer = (await granted.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse))!.Answer;
            var answer = JsonSerializer.Deserialize(ProvisioningEnvelope.Open(sealedAnswer, key, ProvisioningToken.HashOf(token)), ProvisioningJson.Default.ProvisioningAnswer)!;
            Assert.Equal("from-the-first", Assert.Single(answer.Secrets).Value);
        }

        using var replayed = await ProvisionerHarness.ProvisionAsync(first.Client(), "web", token, ProvisionerHarness.Document(nsm, ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo()));
        Assert.Equal(HttpStatusCode.Forbidden, replayed.StatusCode);
        var audit = await first.AuditAsync();
        Assert.StartsWith("token-replayed:", audit[^1].Reason, StringComparison.Ordinal);
        Assert.Equal("granted", audit[^2].Outcome);
    }

    [Fact]
    public async Task Racing_enclaves_at_two_provisioners_with_one_token_get_one_answer()
    {
        var database = _server.Url(_server.CreateDatabase());
        await using var first = await ProvisionerHarness.StartAsync(database);
        await using var second = await SecondAsync(first, database);
        var host = first.Client(await first.HostCertificateAsync("host-1"));
        var pcrs = ProvisionerHarness.RandomPcrs();
        await first.DeployAsync("web", pcrs);
        var nsm = first.Nsm(pcrs);
        var clients = new[] { first.Client(), first.Client(provisioner: second.Url) };

        for (var round = 0; round < 10; round++)
        {
            var token = await ProvisionerHarness.TokenAsync(host, "web");
            using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
            var attempts = Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
            {
                using var response = await ProvisionerHarness.ProvisionAsync(
                    clients[i % 2], "web", token, ProvisionerHarness.Document(nsm, ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo()));
                return response.StatusCode;
            }));
            var statuses = await Task.WhenAll(attempts);
            Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Forbidden));
        }
    }

    // The second process of the service: the first one's directory (its keys) and database, its own listener.
    private static Task<RunningProvisioner> SecondAsync(ProvisionerHarness first, string database) =>
        ProvisionerServer.StartAsync(new ProvisionerOptions
        {
            Directory = first.ProvisionerDirectory,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Database = database,
            AttestationRootPem = first.RootPemPath,
            TimeProvider = first.Time,
        });
}
