using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Client.Http;
using Cloister.Client.Tests.Tls;
using Cloister.Testing;

namespace Cloister.Client.Tests.Http;

public sealed class WellKnownAttestationTests(SimulatedRootFixture fixture) : ScenarioTests(fixture)
{
    [Fact]
    public async Task A_document_bound_to_the_connections_plain_certificate_verifies()
    {
        using var certificate = AttestedTlsClientTests.PlainCertificate(null);
        await using var server = Serve(certificate, nonce => Enclave.Attest(AttestedCertificate.GetKeyBinding(certificate), nonce));

        var result = await WellKnownAttestation.FetchAsync(Address(server), Scenario.Verifier());

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(Enclave.ModuleId, result.Document!.ModuleId);
        Assert.StartsWith("GET /.well-known/attestation ", server.Requests.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_nonce_is_asked_for_in_the_query_and_required_in_the_document()
    {
        using var certificate = Enclave.Certificate();
        await using var honest = Serve(certificate, nonce => Enclave.Attest(AttestedCertificate.GetKeyBinding(certificate), nonce));
        await using var replaying = Serve(certificate, _ => Enclave.Attest(AttestedCertificate.GetKeyBinding(certificate)));
        var nonce = RandomNumberGenerator.GetBytes(64);

        var fresh = await WellKnownAttestation.FetchAsync(Address(honest), Scenario.Verifier(), nonce);
        var replayed = await WellKnownAttestation.FetchAsync(Address(replaying), Scenario.Verifier(), nonce);

        Assert.True(fresh.IsValid, fresh.ToString());
        Assert.Equal(nonce, fresh.Document!.Nonce);
        Assert.Equal(AttestedTlsFailure.NonceMismatch, replayed.Failure);
    }

    [Fact]
    public async Task A_document_relayed_from_another_connection_fails_the_key_binding()
    {
        // A man in the middle fetches the enclave's document and serves it over his own connection.
        using var enclaveCertificate = Enclave.Certificate();
        using var relay = AttestedTlsClientTests.PlainCertificate(null);
        await using var server = Serve(relay, nonce => Enclave.Attest(AttestedCertificate.GetKeyBinding(enclaveCertificate), nonce));

        var result = await WellKnownAttestation.FetchAsync(Address(server), Scenario.Verifier());

        Assert.Equal(AttestedTlsFailure.KeyBindingMismatch, result.Failure);
    }

    [Fact]
    public async Task A_missing_or_malformed_answer_is_an_exception()
    {
        using var certificate = Enclave.Certificate();
        await using var missing = new TestTlsServer(certificate) { Respond = (_, _) => (404, "text/plain", "no") };
        await using var malformed = new TestTlsServer(certificate) { Respond = (_, _) => (200, "application/json", """{"attestation_doc": 7}""") };

        await Assert.ThrowsAsync<HttpRequestException>(() => WellKnownAttestation.FetchAsync(Address(missing), Scenario.Verifier()));
        var thrown = await Assert.ThrowsAsync<FormatException>(() => WellKnownAttestation.FetchAsync(Address(malformed), Scenario.Verifier()));
        Assert.Contains("attestation_doc", thrown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => WellKnownAttestation.FetchAsync(new Uri("http://localhost/"), Scenario.Verifier()));
    }

    [Theory]
    [InlineData("""{"other":[1,{"a":2}],"attestation_doc":"AQID"}""", new byte[] { 1, 2, 3 })]
    [InlineData("""{"attestation_doc":"AQID","later":null}""", new byte[] { 1, 2, 3 })]
    public void The_document_is_read_from_its_property_whatever_else_is_there(string json, byte[] expected)
    {
        Assert.Equal(expected, WellKnownAttestation.ReadDocument(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"attestation_doc":""}""")]
    [InlineData("""{"attestation_doc":"not base64!"}""")]
    [InlineData("""{"attestation_doc":""")]
    public void A_malformed_answer_names_what_is_wrong(string json)
    {
        var thrown = Assert.Throws<FormatException>(() => WellKnownAttestation.ReadDocument(System.Text.Encoding.UTF8.GetBytes(json)));

        Assert.StartsWith(WellKnownAttestation.Path, thrown.Message, StringComparison.Ordinal);
    }

    /// <summary>Serves <paramref name="certificate"/> and, at the well-known path, the document <paramref name="attest"/> makes for the query's nonce.</summary>
    private static TestTlsServer Serve(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, Func<byte[]?, byte[]> attest) =>
        new(certificate)
        {
            Respond = (target, _) =>
            {
                var query = target.Contains('?', StringComparison.Ordinal) ? target[(target.IndexOf('?', StringComparison.Ordinal) + 1)..] : null;
                var nonce = query is not null && query.StartsWith("nonce=", StringComparison.Ordinal)
                    ? Convert.FromBase64String(Uri.UnescapeDataString(query["nonce=".Length..]))
                    : null;
                return (200, "application/json", JsonSerializer.Serialize(new Dictionary<string, string> { ["attestation_doc"] = Convert.ToBase64String(attest(nonce)) }));
            },
        };

    private static Uri Address(TestTlsServer server) => new($"https://{Scenario.Host}:{server.Port}/");
}
