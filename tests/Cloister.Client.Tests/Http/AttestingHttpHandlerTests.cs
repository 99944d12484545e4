using System.Net;
using System.Net.Sockets;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Client.Http;
using Cloister.Client.Tests.Tls;
using Cloister.Testing;

namespace Cloister.Client.Tests.Http;

public sealed class AttestingHttpHandlerTests(SimulatedRootFixture fixture) : ScenarioTests(fixture)
{
    [Fact]
    public async Task Requests_go_over_one_attested_connection_reported_once()
    {
        using var certificate = Enclave.Certificate();
        await using var server = new TestTlsServer(certificate);
        using var handler = new AttestingHttpHandler(Scenario.Verifier());
        var attested = new List<AttestedConnectionEventArgs>();
        handler.ConnectionAttested += (_, e) => attested.Add(e);
        using var client = new HttpClient(handler);

        var first = await client.GetStringAsync(Address(server, "/a"));
        var second = await client.GetStringAsync(Address(server, "/b"));

        Assert.Equal("hello /a", first);
        Assert.Equal("hello /b", second);
        Assert.Equal(2, server.Requests.Count);
        var connection = Assert.Single(attested);
        Assert.Equal(Scenario.Host, connection.ServerName);
        Assert.Equal(Enclave.ModuleId, connection.Result.Document!.ModuleId);
    }

    [Fact]
    public async Task A_refused_server_receives_no_request_byte_and_the_reason_travels_with_the_exception()
    {
        using var plain = AttestedTlsClientTests.PlainCertificate(null);
        await using var server = new TestTlsServer(plain);
        using var client = new HttpClient(new AttestingHttpHandler(Scenario.Verifier()));

        var thrown = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(Address(server, "/secret")));

        var refusal = Assert.IsType<AttestedTlsException>(thrown.InnerException);
        Assert.Equal(AttestedTlsFailure.NotAttested, refusal.Failure);
        Assert.Equal(HttpRequestError.SecureConnectionError, thrown.HttpRequestError);
        Assert.Single(server.ServerNames);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Plain_http_is_refused_before_connecting()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new HttpClient(new AttestingHttpHandler(Scenario.Verifier()));

        var thrown = await Assert.ThrowsAsync<HttpRequestException>(
            () => client.GetAsync($"http://{Scenario.Host}:{((IPEndPoint)listener.LocalEndpoint).Port}/"));

        Assert.Equal(AttestedTlsFailure.NotTls, Assert.IsType<AttestedTlsException>(thrown.InnerException).Failure);
        Assert.False(listener.Pending());
    }

    [Fact]
    public async Task A_fresh_request_sends_its_nonce_as_server_name_and_host_and_gets_its_own_verification()
    {
        using var baseCertificate = Enclave.Certificate();
        await using var server = new TestTlsServer(serverName =>
            (NonceHostName.TryParse(serverName, out var nonce, out _) ? Enclave.Certificate(nonce) : baseCertificate, []));
        using var handler = new AttestingHttpHandler(Scenario.Verifier());
        using var client = new HttpClient(handler);
        await client.GetStringAsync(Address(server, "/warm"));
        using var request = new HttpRequestMessage(HttpMethod.Get, Address(server, "/fresh"));

        var nonce = AttestingHttpHandler.RequireFreshAttestation(request);
        using var response = await client.SendAsync(request);

        var serverName = NonceHostName.Format(nonce, Scenario.Host);
        Assert.Equal([Scenario.Host, serverName], server.ServerNames);
        Assert.Contains($"Host: {serverName}:{server.Port}", server.Requests.Last(), StringComparison.OrdinalIgnoreCase);
        Assert.True(request.Options.TryGetValue(AttestingHttpHandler.AttestationKey, out var result));
        Assert.Equal(nonce, result.Document!.Nonce);
        Assert.Equal("hello /fresh", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_fresh_request_to_a_server_that_ignores_the_nonce_is_refused_unsent()
    {
        using var baseCertificate = Enclave.Certificate();
        await using var server = new TestTlsServer(baseCertificate);
        using var client = new HttpClient(new AttestingHttpHandler(Scenario.Verifier()));
        using var request = new HttpRequestMessage(HttpMethod.Get, Address(server, "/fresh"));
        AttestingHttpHandler.RequireFreshAttestation(request, [1, 2, 3]);

        var thrown = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(request));

        Assert.Equal(AttestedTlsFailure.NonceMismatch, Assert.IsType<AttestedTlsException>(thrown.InnerException).Failure);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task A_provisioned_chain_is_verified_in_ca_mode_and_a_leaf_outside_its_constraints_gets_no_request()
    {
        using var root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var trusted = root.PublicCertificate();
        using var deployment = TestCertificateAuthority.Deployment(root, TestEnclave.Start, Scenario.Host);
        using var elsewhere = TestCertificateAuthority.Deployment(root, TestEnclave.Start, "other.example.test");
        using var inside = Enclave.Certificate(issuer: deployment.Certificate);
        using var outside = Enclave.Certificate(issuer: elsewhere.Certificate);
        using var deploymentPublic = deployment.PublicCertificate();
        using var elsewherePublic = elsewhere.PublicCertificate();
        await using var good = new TestTlsServer(_ => (inside, [deploymentPublic]));
        await using var bad = new TestTlsServer(_ => (outside, [elsewherePublic]));
        using var client = new HttpClient(new AttestingHttpHandler(Scenario.Verifier(TlsChainTrust.IssuedBy([trusted]))));

        var answer = await client.GetStringAsync(Address(good, "/a"));
        var thrown = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(Address(bad, "/secret")));

        Assert.Equal("hello /a", answer);
        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, Assert.IsType<AttestedTlsException>(thrown.InnerException).Failure);
        Assert.Empty(bad.Requests);
    }

    [Fact]
    public void An_inner_handler_that_already_validates_certificates_is_refused()
    {
        using var inner = new SocketsHttpHandler();
        inner.SslOptions.RemoteCertificateValidationCallback = (_, _, _, errors) => errors == System.Net.Security.SslPolicyErrors.None;

        Assert.Throws<ArgumentException>(() => new AttestingHttpHandler(Scenario.Verifier(), inner));
        Assert.Throws<ArgumentException>(() => AttestingHttpHandler.RequireFreshAttestation(new HttpRequestMessage(), new byte[NonceHostName.MaxNonceLength + 1]));
    }

    private static Uri Address(TestTlsServer server, string path) => new($"https://{Scenario.Host}:{server.Port}{path}");
}
