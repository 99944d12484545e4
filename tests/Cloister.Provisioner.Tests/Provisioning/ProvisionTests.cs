using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Attestation.Simulation;
using Cloister.Runtime.Provisioning;

namespace Cloister.Provisioner.Tests.Provisioning;

/// <summary><c>POST /v1/provision</c> end to end: real HTTPS, real client certificates, real signed documents.</summary>
public sealed class ProvisionTests : IAsyncLifetime
{
    private ProvisionerHarness _harness = null!;
    private HttpClient _host = null!;
    private HttpClient _enclave = null!;
    private Dictionary<int, byte[]> _pcrs = null!;

    public async Task InitializeAsync()
    {
        _harness = await ProvisionerHarness.StartAsync();
        _host = await _harness.AddHostAsync("host-1");
        _enclave = _harness.Client();
        _pcrs = ProvisionerHarness.RandomPcrs();
        await _harness.DeployAsync("web", _pcrs);
        await _harness.SetSecretAsync("web", "API_KEY", "sk-live-1");
        await _harness.SetSecretAsync("web", "API_KEY", "sk-live-2");
        await _harness.SetSecretAsync("web", "DB_PASSWORD", "hunter2 ü");
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_matching_enclave_gets_its_ca_and_latest_secrets_sealed_to_its_key_only()
    {
        using var enclaveKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        var document = ProvisionerHarness.Document(_harness.Nsm(_pcrs), ProvisioningToken.HashOf(token), enclaveKey.ExportSubjectPublicKeyInfo());

        using var response = await ProvisionerHarness.ProvisionAsync(_enclave, "web", token, document);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sealedAnswer = (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse))!.Answer;

        using var otherKey = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        Assert.ThrowsAny<CryptographicException>(() => ProvisioningEnvelope.Open(sealedAnswer, otherKey, ProvisioningToken.HashOf(token)));
        Assert.ThrowsAny<CryptographicException>(() => ProvisioningEnvelope.Open(sealedAnswer, enclaveKey, ProvisioningToken.HashOf(token + "x")));
        var answer = JsonSerializer.Deserialize(ProvisioningEnvelope.Open(sealedAnswer, enclaveKey, ProvisioningToken.HashOf(token)), ProvisioningJson.Default.ProvisioningAnswer)!;

        Assert.Equal("web", answer.Deployment);
        Assert.Equal([("API_KEY", "sk-live-2", 2), ("DB_PASSWORD", "hunter2 ü", 1)], answer.Secrets.Select(s => (s.Name, s.Value, s.Version)));
        using var ca = X509Certificate2.CreateFromPem(answer.CertificateAuthority.Certificate, answer.CertificateAuthority.PrivateKey);
        using var root = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_harness.ProvisionerDirectory, "root-ca.pem")));
        Assert.Equal(root.ExportCertificatePem(), Assert.Single(answer.CertificateAuthority.Chain));
        Assert.True(ChainsTo(ca, root));

        var granted = (await _harness.AuditAsync())[^1];
        Assert.Equal(("enclave", "provision", "web", "host-1", "granted"), (granted.Actor, granted.Action, granted.Deployment, granted.Host, granted.Outcome));
        Assert.Contains($"0={Convert.ToHexStringLower(_pcrs[0])}", granted.Pcrs, StringComparison.Ordinal);
        Assert.DoesNotContain(await _harness.AuditAsync(), e => (e.Reason ?? "").Contains("sk-live", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Deployment_b_never_receives_deployment_a_secrets()
    {
        var other = ProvisionerHarness.RandomPcrs();
        await _harness.DeployAsync("api", other);
        await _harness.SetSecretAsync("api", "API_ONLY", "api-value");
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var token = await ProvisionerHarness.TokenAsync(_host, "api");
        var document = ProvisionerHarness.Document(_harness.Nsm(other), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo());

        using var response = await ProvisionerHarness.ProvisionAsync(_enclave, "api", token, document);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sealedAnswer = (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse))!.Answer;
        var answer = JsonSerializer.Deserialize(ProvisioningEnvelope.Open(sealedAnswer, key, ProvisioningToken.HashOf(token)), ProvisioningJson.Default.ProvisioningAnswer)!;
        Assert.Equal("api", answer.Deployment);
        Assert.Equal(["API_ONLY"], answer.Secrets.Select(s => s.Name));
        Assert.DoesNotContain(answer.Secrets, s => s.Value.StartsWith("sk-live", StringComparison.Ordinal) || s.Value.StartsWith("hunter2", StringComparison.Ordinal));

        // The web enclave's measurements do not get api's answer either.
        var webToken = await ProvisionerHarness.TokenAsync(_host, "api");
        var webDocument = ProvisionerHarness.Document(_harness.Nsm(_pcrs), ProvisioningToken.HashOf(webToken), key.ExportSubjectPublicKeyInfo());
        await AssertRefusedAsync(await ProvisionerHarness.ProvisionAsync(_enclave, "api", webToken, webDocument), "pcrs");
    }

    [Fact]
    public async Task A_document_from_an_untrusted_root_is_refused_as_document()
    {
        using var otherRoot = SimulatedNitroRoot.Create(_harness.Time);
        await RefusedAsync("document", nsm: _harness.Nsm(_pcrs, otherRoot));
    }

    [Fact]
    public async Task A_stale_document_is_refused_as_document_age()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var nsm = _harness.Nsm(_pcrs);
        var staleToken = await ProvisionerHarness.TokenAsync(_host, "web");
        var document = ProvisionerHarness.Document(nsm, ProvisioningToken.HashOf(staleToken), key.ExportSubjectPublicKeyInfo());
        _harness.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        await AssertRefusedAsync(await ProvisionerHarness.ProvisionAsync(_enclave, "web", staleToken, document), "document-age");
    }

    [Fact]
    public async Task A_token_with_a_bad_signature_is_refused_as_token_signature()
    {
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        var forged = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        await RefusedAsync("token-signature", token: forged);
    }

    [Fact]
    public async Task An_expired_token_is_refused_as_token_expired()
    {
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        _harness.Time.Advance(TimeSpan.FromMinutes(5));
        await RefusedAsync("token-expired", token: token);
    }

    [Fact]
    public async Task A_token_for_another_deployment_is_refused_as_token_deployment()
    {
        await _harness.DeployAsync("api", ProvisionerHarness.RandomPcrs());
        await RefusedAsync("token-deployment", token: await ProvisionerHarness.TokenAsync(_host, "api"));
    }

    [Fact]
    public async Task A_document_whose_user_data_is_not_the_token_hash_is_refused_as_user_data()
    {
        var other = await ProvisionerHarness.TokenAsync(_host, "web");
        await RefusedAsync("user-data", userData: ProvisioningToken.HashOf(other));
    }

    [Fact]
    public async Task A_document_without_a_p384_public_key_is_refused_as_public_key()
    {
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        await RefusedAsync("public-key", publicKey: p256.ExportSubjectPublicKeyInfo());
        await RefusedAsync("public-key", publicKey: []);
    }

    [Fact]
    public async Task A_deployment_gone_since_the_token_is_refused_as_unknown_deployment()
    {
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_harness.ProvisionerDirectory, "provisioner.db")};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA foreign_keys = ON; DELETE FROM deployments WHERE name = 'web'";
            await command.ExecuteNonQueryAsync();
        }

        await RefusedAsync("unknown-deployment", token: token);
    }

    [Fact]
    public async Task A_token_of_a_host_revoked_since_is_refused_as_host_revoked()
    {
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        using (var revoked = await _harness.Operator.DeleteAsync("/v1/hosts/host-1"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        await RefusedAsync("host-revoked", token: token);
    }

    [Fact]
    public async Task Other_measurements_are_refused_as_pcrs()
    {
        await RefusedAsync("pcrs", nsm: _harness.Nsm(ProvisionerHarness.RandomPcrs()));
    }

    [Fact]
    public async Task A_debug_enclave_is_refused_as_debug_unless_the_deployment_allows_it()
    {
        var debug = new Dictionary<int, byte[]> { [0] = new byte[48], [1] = new byte[48], [2] = new byte[48] };
        await _harness.DeployAsync("dev", debug);
        await RefusedAsync("debug", nsm: _harness.Nsm(debug), deployment: "dev");

        await _harness.DeployAsync("dev", debug, allowDebug: true);
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var token = await ProvisionerHarness.TokenAsync(_host, "dev");
        var document = ProvisionerHarness.Document(_harness.Nsm(debug), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo());
        using var granted = await ProvisionerHarness.ProvisionAsync(_enclave, "dev", token, document);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
    }

    [Fact]
    public async Task A_token_is_redeemed_once_and_a_replay_is_refused_as_token_replayed()
    {
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var nsm = _harness.Nsm(_pcrs);
        using (var first = await ProvisionerHarness.ProvisionAsync(_enclave, "web", token, ProvisionerHarness.Document(nsm, ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo())))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        await RefusedAsync("token-replayed", token: token, nsm: nsm);
    }

    [Fact]
    public async Task A_refusal_for_another_reason_does_not_spend_the_token()
    {
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        await RefusedAsync("pcrs", token: token, nsm: _harness.Nsm(ProvisionerHarness.RandomPcrs()));
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var document = ProvisionerHarness.Document(_harness.Nsm(_pcrs), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo());
        using var granted = await ProvisionerHarness.ProvisionAsync(_enclave, "web", token, document);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
    }

    [Fact]
    public async Task A_deployment_ca_with_less_than_a_third_of_its_life_left_is_renewed_when_provisioning()
    {
        var before = await ProvisionAsync();
        Assert.Equal(before.CertificateAuthority.Certificate, (await ProvisionAsync()).CertificateAuthority.Certificate);

        _harness.Time.Advance(TimeSpan.FromDays(21));
        var renewed = await ProvisionAsync();
        Assert.NotEqual(before.CertificateAuthority.Certificate, renewed.CertificateAuthority.Certificate);
        using var certificate = X509Certificate2.CreateFromPem(renewed.CertificateAuthority.Certificate, renewed.CertificateAuthority.PrivateKey);
        Assert.True(certificate.NotAfter.ToUniversalTime() > _harness.Time.GetUtcNow().UtcDateTime.AddDays(29));
        Assert.Equal(renewed.CertificateAuthority.Certificate, (await ProvisionAsync()).CertificateAuthority.Certificate);
    }

    [Fact]
    public async Task A_token_lives_five_minutes()
    {
        using var response = await _host.PostAsJsonAsync(ProvisioningProtocol.TokensPath, new TokenRequest { Deployment = "web" }, ProvisioningJson.Default.TokenRequest);
        var token = (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.TokenResponse))!;
        var now = _harness.Time.GetUtcNow();
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds()) + TimeSpan.FromMinutes(5), token.ExpiresAt);
    }

    [Fact]
    public async Task A_body_that_is_not_a_request_is_refused_as_request()
    {
        using var response = await _enclave.PostAsync(ProvisioningProtocol.ProvisionPath, new StringContent("{\"deployment\": 1}"));
        await AssertRefusedAsync(response, "request");
    }

    private async Task<ProvisioningAnswer> ProvisionAsync()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var token = await ProvisionerHarness.TokenAsync(_host, "web");
        var document = ProvisionerHarness.Document(_harness.Nsm(_pcrs), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo());
        using var response = await ProvisionerHarness.ProvisionAsync(_enclave, "web", token, document);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sealedAnswer = (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse))!.Answer;
        return JsonSerializer.Deserialize(ProvisioningEnvelope.Open(sealedAnswer, key, ProvisioningToken.HashOf(token)), ProvisioningJson.Default.ProvisioningAnswer)!;
    }

    private async Task RefusedAsync(
        string reason, string? token = null, SoftwareNsm? nsm = null, byte[]? userData = null, byte[]? publicKey = null, string deployment = "web")
    {
        token ??= await ProvisionerHarness.TokenAsync(_host, deployment);
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var document = ProvisionerHarness.Document(nsm ?? _harness.Nsm(_pcrs), userData ?? ProvisioningToken.HashOf(token), publicKey ?? key.ExportSubjectPublicKeyInfo());
        await AssertRefusedAsync(await ProvisionerHarness.ProvisionAsync(_enclave, deployment, token, document), reason);
    }

    private async Task AssertRefusedAsync(HttpResponseMessage response, string reason)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("""{"error":"refused"}""", await response.Content.ReadAsStringAsync());
        }

        var entry = (await _harness.AuditAsync())[^1];
        Assert.Equal(("enclave", "provision", "refused"), (entry.Actor, entry.Action, entry.Outcome));
        Assert.StartsWith(reason + ":", entry.Reason, StringComparison.Ordinal);
    }

    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
