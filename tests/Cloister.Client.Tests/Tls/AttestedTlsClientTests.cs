using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Attestation.Verification;
using Cloister.Client.Tls;
using Cloister.Testing;

namespace Cloister.Client.Tests.Tls;

/// <summary>
/// The attacks of seeds/001 and the others an attested connection must refuse, each over a real TLS connection to a
/// server on 127.0.0.1, each with its own reason; and the connections that must pass.
/// </summary>
public sealed class AttestedTlsClientTests(SimulatedRootFixture fixture) : ScenarioTests(fixture)
{
    private const string Host = Scenario.Host;

    [Fact]
    public async Task A_standalone_enclave_is_attested_in_the_handshake()
    {
        using var certificate = Enclave.Certificate();
        await using var server = new TestTlsServer(certificate);

        await using var connection = await AttestedTlsClient.ConnectAsync(Host, server.Port, Scenario.Verifier());

        Assert.True(connection.Stream.IsAuthenticated);
        Assert.Equal(Enclave.ModuleId, connection.Result.Document!.ModuleId);
        Assert.Equal(Enclave.Pcrs[0], connection.Result.Document.Pcrs[0]);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(certificate.RawData)), connection.Result.CertificateThumbprint);
        Assert.Equal([Host], server.ServerNames);
    }

    [Fact]
    public async Task A_provisioned_chain_root_then_name_constrained_intermediate_then_attested_leaf_is_accepted()
    {
        using var root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var intermediate = TestCertificateAuthority.Deployment(root, TestEnclave.Start, Host);
        using var baseCertificate = Enclave.Certificate(issuer: intermediate.Certificate);
        using var sent = intermediate.PublicCertificate();
        await using var server = new TestTlsServer(serverName =>
            (NonceHostName.TryParse(serverName, out var asked, out _) ? Enclave.Certificate(asked, intermediate.Certificate) : baseCertificate, [sent]));
        using var trusted = root.PublicCertificate();
        var verifier = Scenario.Verifier(TlsChainTrust.IssuedBy([trusted]));
        var nonce = AttestedTlsClient.CreateNonce();

        var result = await AttestedTlsClient.AttestAsync(Host, server.Port, verifier);
        var fresh = await AttestedTlsClient.AttestAsync(Host, server.Port, verifier, nonce);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(Enclave.ModuleId, result.Document!.ModuleId);
        Assert.True(fresh.IsValid, fresh.ToString());
        Assert.Equal(nonce, fresh.Document!.Nonce);
    }

    [Fact]
    public async Task A_provisioned_leaf_for_a_hostname_outside_the_constraints_is_refused()
    {
        using var root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var intermediate = TestCertificateAuthority.Deployment(root, TestEnclave.Start, "app.example.test");
        using var certificate = Enclave.Certificate(issuer: intermediate.Certificate);
        using var trusted = root.PublicCertificate();

        var result = await AttestChainAsync(certificate, intermediate, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, result.Failure);
        Assert.Equal(
            $"host: '{Host}' is in none of the permitted dNSName subtrees 'app.example.test': the name constraints of 'CN=deployment intermediate' (an intermediate)",
            result.Detail);
        Assert.Null(result.DocumentVerification);
    }

    [Fact]
    public async Task An_intermediate_not_issued_by_the_trusted_root_is_refused_even_under_the_roots_name()
    {
        using var root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var impostor = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var intermediate = TestCertificateAuthority.Deployment(impostor, TestEnclave.Start, Host);
        using var certificate = Enclave.Certificate(issuer: intermediate.Certificate);
        using var trusted = root.PublicCertificate();

        var result = await AttestChainAsync(certificate, intermediate, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, result.Failure);
        Assert.StartsWith($"'CN={Host}' does not chain to a trusted CA: ", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_self_signed_leaf_is_refused_when_a_ca_is_given()
    {
        using var root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var certificate = Enclave.Certificate();
        using var trusted = root.PublicCertificate();

        var result = await AttestAsync(certificate, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, result.Failure);
        Assert.True(result.Detail!.Contains("UntrustedRoot", StringComparison.Ordinal) || result.Detail.Contains("PartialChain", StringComparison.Ordinal), result.Detail);
    }

    [Fact]
    public async Task An_expired_intermediate_is_refused_naming_it()
    {
        // The leaf is valid now; the intermediate the server sends is the same CA (subject, key) reissued with a
        // validity that ended an hour ago, as a deployment whose CA was not renewed serves it.
        using var root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);
        using var intermediate = TestCertificateAuthority.Deployment(root, TestEnclave.Start, Host);
        using var certificate = Enclave.Certificate(issuer: intermediate.Certificate);
        using var expired = intermediate.Reissued(TestEnclave.Start.AddHours(-12), TestEnclave.Start.AddHours(-1));
        await using var server = new TestTlsServer(_ => (certificate, [expired]));
        using var trusted = root.PublicCertificate();

        var result = await AttestedTlsClient.AttestAsync(Host, server.Port, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.Equal(AttestedTlsFailure.CertificateNotTimeValid, result.Failure);
        Assert.StartsWith("'CN=deployment intermediate' (an intermediate) is valid ", result.Detail, StringComparison.Ordinal);
        Assert.Null(result.DocumentVerification);
    }

    [Fact]
    public async Task A_ca_without_name_constraints_is_accepted_constraints_are_optional()
    {
        using var root = TestCertificateAuthority.Create("CN=deployment root", TestEnclave.Start);
        using var intermediate = TestCertificateAuthority.Create("CN=deployment intermediate", TestEnclave.Start, root);
        using var certificate = Enclave.Certificate(issuer: intermediate.Certificate);
        using var intermediatePublic = intermediate.PublicCertificate();
        await using var server = new TestTlsServer(_ => (certificate, [intermediatePublic]));
        using var trusted = root.PublicCertificate();

        var result = await AttestedTlsClient.AttestAsync(Host, server.Port, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.True(result.IsValid, result.ToString());
    }

    [Fact]
    public async Task Seed_001_a_ca_signed_forgery_carrying_the_enclaves_document_fails_the_key_binding()
    {
        // The rogue insider holds a certificate from the trusted CA, asks the enclave for a document with the client's
        // nonce, and serves that document in a certificate for its own key.
        using var ca = TestCertificateAuthority.Create("CN=cages root", TestEnclave.Start);
        using var forgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var enclaveKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var server = new TestTlsServer(serverName =>
        {
            Assert.True(NonceHostName.TryParse(serverName, out var nonce, out _));
            return (Enclave.Certificate(forgerKey, Enclave.Attest(enclaveKey, nonce), ca.Certificate), []);
        });
        using var trusted = ca.PublicCertificate();

        var result = await AttestedTlsClient.AttestAsync(
            Host, server.Port, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])), AttestedTlsClient.CreateNonce());

        Assert.Equal(AttestedTlsFailure.KeyBindingMismatch, result.Failure);
        Assert.Equal(AttestationFailure.None, result.DocumentFailure);
    }

    [Fact]
    public async Task A_self_signed_forgery_with_a_stolen_document_fails_the_key_binding()
    {
        using var forgery = Enclave.ForgeryWithStolenDocument();

        var result = await AttestAsync(forgery, Scenario.Verifier());

        Assert.Equal(AttestedTlsFailure.KeyBindingMismatch, result.Failure);
        Assert.Contains("another key", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_document_of_another_key_from_the_right_enclave_fails_the_key_binding()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Enclave.Certificate(key, Enclave.Attest(otherKey));

        Assert.Equal(AttestedTlsFailure.KeyBindingMismatch, (await AttestAsync(certificate, Scenario.Verifier())).Failure);
    }

    [Theory]
    [InlineData(240, null, AttestationFailure.CertificateExpired)]
    [InlineData(10, 5, AttestationFailure.DocumentTooOld)]
    public async Task A_stale_document_for_the_right_key_is_refused(int minutesLater, int? maxAgeMinutes, AttestationFailure expected)
    {
        var verifier = Scenario.Verifier(maxAge: maxAgeMinutes is { } age ? TimeSpan.FromMinutes(age) : null);
        // The server keeps serving a certificate that outlives its document's signing certificate (3 h).
        using var certificate = Enclave.Certificate(lifetime: TimeSpan.FromDays(365));
        Scenario.Time.Advance(TimeSpan.FromMinutes(minutesLater));

        var result = await AttestAsync(certificate, verifier);

        Assert.Equal(AttestedTlsFailure.DocumentInvalid, result.Failure);
        Assert.Equal(expected, result.DocumentFailure);
    }

    [Fact]
    public async Task Another_enclaves_document_bound_to_the_served_key_has_the_wrong_pcrs()
    {
        using var foreign = new TestEnclave(Scenario.Root, Scenario.Time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Enclave.Certificate(key, foreign.Attest(key));

        var result = await AttestAsync(certificate, Scenario.Verifier());

        Assert.Equal(AttestationFailure.PcrMismatch, result.DocumentFailure);
        Assert.Equal(0, result.DocumentVerification!.PcrMismatch!.Index);
    }

    [Fact]
    public async Task An_honest_enclave_with_other_pcrs_than_expected_is_refused()
    {
        using var certificate = Enclave.Certificate();
        var expected = Enclave.Pcrs.ToDictionary(p => p.Key, p => p.Value);
        expected[2] = RandomNumberGenerator.GetBytes(48);

        var result = await AttestAsync(certificate, Scenario.Verifier(pcrs: PcrPolicy.Exactly(expected)));

        Assert.Equal(AttestedTlsFailure.DocumentInvalid, result.Failure);
        Assert.Equal(AttestationFailure.PcrMismatch, result.DocumentFailure);
        Assert.Equal(2, result.DocumentVerification!.PcrMismatch!.Index);
    }

    [Fact]
    public async Task A_debug_mode_enclave_is_refused_unless_allowed()
    {
        using var debug = new TestEnclave(Scenario.Root, Scenario.Time, debug: true);
        using var certificate = debug.Certificate();

        var refused = await AttestAsync(certificate, Scenario.Verifier(pcrs: debug.Policy));
        var allowed = await AttestAsync(certificate, Scenario.Verifier(pcrs: debug.Policy, allowDebugMode: true));

        Assert.Equal(AttestationFailure.DebugModeRefused, refused.DocumentFailure);
        Assert.True(allowed.IsValid, allowed.ToString());
    }

    [Fact]
    public async Task A_nonce_is_sent_as_the_server_name_and_required_in_the_document()
    {
        using var baseCertificate = Enclave.Certificate();
        await using var server = new TestTlsServer(serverName =>
            (NonceHostName.TryParse(serverName, out var nonce, out _) ? Enclave.Certificate(nonce) : baseCertificate, []));
        var nonce = AttestedTlsClient.CreateNonce();

        var result = await AttestedTlsClient.AttestAsync(Host, server.Port, Scenario.Verifier(), nonce);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(nonce, result.Nonce);
        Assert.Equal(nonce, result.Document!.Nonce);
        Assert.Equal([NonceHostName.Format(nonce, Host)], server.ServerNames);
    }

    [Fact]
    public async Task A_server_that_answers_a_nonce_with_its_base_certificate_is_refused()
    {
        using var baseCertificate = Enclave.Certificate();

        var result = await AttestAsync(baseCertificate, Scenario.Verifier(), AttestedTlsClient.CreateNonce());

        Assert.Equal(AttestedTlsFailure.NonceMismatch, result.Failure);
    }

    [Fact]
    public async Task A_server_that_replays_another_nonces_certificate_is_refused()
    {
        using var replayed = Enclave.Certificate(AttestedTlsClient.CreateNonce());

        var result = await AttestAsync(replayed, Scenario.Verifier(), AttestedTlsClient.CreateNonce());

        Assert.Equal(AttestedTlsFailure.NonceMismatch, result.Failure);
        Assert.Contains("differs", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_self_signed_certificate_is_not_attested()
    {
        using var plain = PlainCertificate(null);

        var result = await AttestAsync(plain, Scenario.Verifier());

        Assert.Equal(AttestedTlsFailure.NotAttested, result.Failure);
        Assert.Null(result.DocumentVerification);
    }

    [Fact]
    public async Task A_downgrade_to_passthrough_serving_the_apps_own_certificate_is_refused()
    {
        // Passthrough hands the port to the app, whose certificate may well come from the very CA the client trusts.
        using var ca = TestCertificateAuthority.Create("CN=public ca", TestEnclave.Start);
        using var appCertificate = PlainCertificate(ca.Certificate);
        using var trusted = ca.PublicCertificate();

        var inCaMode = await AttestAsync(appCertificate, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));
        var standalone = await AttestAsync(appCertificate, Scenario.Verifier());

        Assert.Equal(AttestedTlsFailure.NotAttested, inCaMode.Failure);
        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, standalone.Failure);
    }

    [Fact]
    public async Task A_document_with_one_hex_digit_changed_in_the_san_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var document = Enclave.Attest(key);
        // The last hex digit of the label is the low nibble of the signature's last byte.
        document[^1] ^= 0x01;
        using var tampered = Enclave.Certificate(key, document);

        var result = await AttestAsync(tampered, Scenario.Verifier());

        Assert.Equal(AttestedTlsFailure.DocumentInvalid, result.Failure);
        Assert.Equal(AttestationFailure.BadSignature, result.DocumentFailure);
    }

    [Fact]
    public async Task A_simulated_document_is_refused_when_only_aws_is_trusted()
    {
        using var certificate = Enclave.Certificate();

        var result = await AttestAsync(certificate, Scenario.Verifier(trustSimulatedRoot: false));

        Assert.Equal(AttestedTlsFailure.DocumentInvalid, result.Failure);
        Assert.Equal(AttestationFailure.UntrustedRoot, result.DocumentFailure);
    }

    [Fact]
    public async Task In_ca_mode_a_certificate_from_another_ca_is_refused()
    {
        using var expected = TestCertificateAuthority.Create("CN=expected ca", TestEnclave.Start);
        using var other = TestCertificateAuthority.Create("CN=other ca", TestEnclave.Start);
        using var certificate = Enclave.Certificate(issuer: other.Certificate);
        using var trusted = expected.PublicCertificate();

        var result = await AttestAsync(certificate, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.Equal(AttestedTlsFailure.CertificateChainInvalid, result.Failure);
        Assert.Null(result.DocumentVerification);
    }

    [Fact]
    public async Task In_ca_mode_a_certificate_for_another_name_is_refused()
    {
        using var ca = TestCertificateAuthority.Create("CN=deployment ca", TestEnclave.Start);
        using var certificate = Enclave.Certificate(issuer: ca.Certificate, hostnames: ["api.example.test"]);
        using var trusted = ca.PublicCertificate();

        var result = await AttestAsync(certificate, Scenario.Verifier(TlsChainTrust.IssuedBy([trusted])));

        Assert.Equal(AttestedTlsFailure.HostnameMismatch, result.Failure);
        Assert.Contains("api.example.test", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_connection_to_the_same_certificate_is_answered_from_the_cache()
    {
        using var certificate = Enclave.Certificate();
        await using var server = new TestTlsServer(certificate);
        var verifier = Scenario.Verifier();

        var first = await AttestedTlsClient.AttestAsync(Host, server.Port, verifier);
        var second = await AttestedTlsClient.AttestAsync(Host, server.Port, verifier);
        var fresh = await AttestedTlsClient.AttestAsync(Host, server.Port, verifier, AttestedTlsClient.CreateNonce());

        Assert.Equal(3, server.ServerNames.Count);
        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(first.CertificateThumbprint, second.CertificateThumbprint);
        Assert.Equal(AttestedTlsFailure.NonceMismatch, fresh.Failure);
        Assert.Equal(1, verifier.CachedCount);
    }

    [Fact]
    public async Task An_unreachable_server_is_an_exception_not_a_verdict()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        await Assert.ThrowsAnyAsync<SocketException>(() => AttestedTlsClient.AttestAsync("127.0.0.1", port, Scenario.Verifier()));
    }

    [Fact]
    public async Task A_server_that_does_not_speak_tls_is_an_exception_not_a_verdict()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var answering = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            await client.GetStream().WriteAsync("HTTP/1.1 400 Bad Request\r\n\r\n"u8.ToArray());
        });

        var thrown = await Assert.ThrowsAnyAsync<Exception>(
            () => AttestedTlsClient.AttestAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port, Scenario.Verifier()));

        Assert.True(thrown is AuthenticationException or IOException, thrown.ToString());
        Assert.IsNotType<AttestedTlsException>(thrown);
        await answering;
    }

    private static async Task<AttestedTlsResult> AttestAsync(X509Certificate2 certificate, AttestedTlsVerifier verifier, byte[]? nonce = null)
    {
        await using var server = new TestTlsServer(certificate);
        return await AttestedTlsClient.AttestAsync(Host, server.Port, verifier, nonce);
    }

    /// <summary>Attests a server that sends <paramref name="certificate"/> and <paramref name="intermediate"/>'s public certificate, as a provisioned enclave does.</summary>
    private static async Task<AttestedTlsResult> AttestChainAsync(X509Certificate2 certificate, TestCertificateAuthority intermediate, AttestedTlsVerifier verifier)
    {
        using var sent = intermediate.PublicCertificate();
        await using var server = new TestTlsServer(_ => (certificate, [sent]));
        return await AttestedTlsClient.AttestAsync(Host, server.Port, verifier);
    }

    /// <summary>An ordinary TLS certificate for <see cref="Host"/>, without a document: self-signed or issued by <paramref name="issuer"/>.</summary>
    internal static X509Certificate2 PlainCertificate(X509Certificate2? issuer)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={Host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(Host);
        request.CertificateExtensions.Add(names.Build());
        var (notBefore, notAfter) = (TestEnclave.Start.AddDays(-1), TestEnclave.Start.AddDays(30));
        if (issuer is null)
        {
            return request.CreateSelfSigned(notBefore, notAfter);
        }

        using var issued = request.Create(issuer, notBefore, notAfter, [9, 9]);
        return issued.CopyWithPrivateKey(key);
    }
}
