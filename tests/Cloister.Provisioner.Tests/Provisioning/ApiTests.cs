using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Provisioner.Api;
using Cloister.Runtime.Provisioning;

namespace Cloister.Provisioner.Tests.Provisioning;

/// <summary>Who may call which API, and what the operator API accepts.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private ProvisionerHarness _harness = null!;
    private HttpClient _host = null!;

    public async Task InitializeAsync()
    {
        _harness = await ProvisionerHarness.StartAsync();
        _host = await _harness.AddHostAsync("host-1");
        await _harness.DeployAsync("web", ProvisionerHarness.RandomPcrs());
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task Tokens_need_the_certificate_of_an_unrevoked_host()
    {
        await ProvisionerHarness.TokenAsync(_host, "web");
        await AssertStatusAsync(HttpStatusCode.Forbidden, await TokenRequestAsync(_harness.Client()));
        await AssertStatusAsync(HttpStatusCode.Forbidden, await TokenRequestAsync(_harness.Operator));
        await AssertStatusAsync(HttpStatusCode.NotFound, await TokenRequestAsync(_host, "absent"));

        using (var revoke = await _harness.Operator.DeleteAsync("/v1/hosts/host-1"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using var refused = await TokenRequestAsync(_host);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("host 'host-1' is revoked or unknown", await ProvisionerHarness.ErrorOf(refused));
        await AssertStatusAsync(HttpStatusCode.NotFound, await _harness.Operator.DeleteAsync("/v1/hosts/absent"));
        await AssertStatusAsync(HttpStatusCode.Conflict, await AddHostRequestAsync("host-1"));
    }

    [Fact]
    public async Task A_self_made_certificate_with_a_host_ou_is_not_a_host()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=host-1, OU=host, O=Cloister", key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        var forger = _harness.Client(X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), null));
        await AssertStatusAsync(HttpStatusCode.Forbidden, await TokenRequestAsync(forger));
    }

    [Fact]
    public async Task The_operator_api_needs_an_operator_certificate()
    {
        await AssertStatusAsync(HttpStatusCode.Forbidden, await _host.GetAsync("/v1/deployments/web"));
        await AssertStatusAsync(HttpStatusCode.Forbidden, await _harness.Client().GetAsync("/v1/audit"));
        await AssertStatusAsync(HttpStatusCode.Forbidden, await _host.PutAsync("/v1/deployments/web/secrets/X", new ByteArrayContent("v"u8.ToArray())));
        await AssertStatusAsync(HttpStatusCode.OK, await _harness.Operator.GetAsync("/v1/deployments/web"));
    }

    [Fact]
    public async Task Secrets_are_listed_by_name_and_version_never_by_value()
    {
        await _harness.SetSecretAsync("web", "API_KEY", "first-value");
        await _harness.SetSecretAsync("web", "API_KEY", "second-value");
        using var listing = await _harness.Operator.GetAsync("/v1/deployments/web/secrets");
        var text = await listing.Content.ReadAsStringAsync();
        Assert.DoesNotContain("value", text.Replace("\"version\"", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var secrets = System.Text.Json.JsonSerializer.Deserialize(text, OperatorJson.Default.SecretList)!.Secrets;
        Assert.Equal(("API_KEY", 2), (Assert.Single(secrets).Name, secrets[0].Version));

        await AssertStatusAsync(HttpStatusCode.NoContent, await _harness.Operator.DeleteAsync("/v1/deployments/web/secrets/API_KEY"));
        await AssertStatusAsync(HttpStatusCode.NotFound, await _harness.Operator.DeleteAsync("/v1/deployments/web/secrets/API_KEY"));
        Assert.DoesNotContain(await _harness.AuditAsync(), e => (e.Reason ?? "").Contains("-value", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1BAD", "value", HttpStatusCode.BadRequest)]
    [InlineData("GOOD", "nul\0inside", HttpStatusCode.BadRequest)]
    [InlineData("GOOD", null, HttpStatusCode.RequestEntityTooLarge)]
    public async Task Secret_names_and_values_are_checked(string name, string? value, HttpStatusCode expected)
    {
        var body = value is null ? new byte[(64 << 10) + 1] : System.Text.Encoding.UTF8.GetBytes(value);
        if (value is null)
        {
            body.AsSpan().Fill((byte)'a');
        }

        await AssertStatusAsync(expected, await _harness.Operator.PutAsync($"/v1/deployments/web/secrets/{name}", new ByteArrayContent(body)));
    }

    [Fact]
    public async Task A_secret_that_is_not_utf8_or_for_an_unknown_deployment_is_refused()
    {
        await AssertStatusAsync(HttpStatusCode.BadRequest, await _harness.Operator.PutAsync("/v1/deployments/web/secrets/X", new ByteArrayContent([0xff, 0xfe])));
        await AssertStatusAsync(HttpStatusCode.NotFound, await _harness.Operator.PutAsync("/v1/deployments/absent/secrets/X", new ByteArrayContent("v"u8.ToArray())));
        using var exactly64K = new ByteArrayContent(Enumerable.Repeat((byte)'a', 64 << 10).ToArray());
        await AssertStatusAsync(HttpStatusCode.OK, await _harness.Operator.PutAsync("/v1/deployments/web/secrets/BIG", exactly64K));
    }

    [Fact]
    public async Task Pcr_sets_are_added_for_rolling_deploys_replaced_on_request_and_hostnames_make_a_new_ca()
    {
        var first = await _harness.Operator.GetFromJsonAsync("/v1/deployments/web", OperatorJson.Default.DeploymentView);
        var second = await _harness.DeployAsync("web", ProvisionerHarness.RandomPcrs());
        Assert.Equal(2, second.PcrSets.Count);
        Assert.Equal(first!.CaCertificate, second.CaCertificate);

        var replacing = new DeploymentRequest { PcrSet = ProvisionerHarness.RandomPcrs().ToDictionary(p => $"PCR{p.Key}", p => Convert.ToHexStringLower(p.Value)), Replace = true };
        using (var replaced = await _harness.Operator.PutAsJsonAsync("/v1/deployments/web", replacing, OperatorJson.Default.DeploymentRequest))
        {
            Assert.Single((await replaced.Content.ReadFromJsonAsync(OperatorJson.Default.DeploymentView))!.PcrSets);
        }

        var renamed = await _harness.DeployAsync("web", ProvisionerHarness.RandomPcrs(), false, "other.example.com");
        Assert.NotEqual(first.CaCertificate, renamed.CaCertificate);
        Assert.Equal(["other.example.com"], renamed.Hostnames);
    }

    [Theory]
    [InlineData("""{"pcr_set": {"PCR0": "00"}}""")]
    [InlineData("""{"hostnames": ["a.example.com"], "pcr_set": {"PCR32": "00"}}""")]
    [InlineData("""{"hostnames": [], "pcr_set": {}}""")]
    [InlineData("""{"hostnames": ["Not a host"]}""")]
    [InlineData("""{"hostnames": ["a.example.com"], "replace": true}""")]
    [InlineData("""{"hostnames": ["a.example.com"], "unknown": 1}""")]
    [InlineData("""not json""")]
    public async Task A_malformed_deployment_is_refused_with_one_line(string body)
    {
        using var response = await _harness.Operator.PutAsync("/v1/deployments/new", new StringContent(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain('\n', await ProvisionerHarness.ErrorOf(response) ?? "\n");
    }

    [Fact]
    public async Task The_audit_log_pages_by_id()
    {
        var all = await _harness.AuditAsync();
        Assert.True(all.Count >= 2);
        var page = await _harness.Operator.GetFromJsonAsync($"/v1/audit?after={all[0].Id}&limit=1", OperatorJson.Default.AuditPage);
        Assert.Equal(all[1].Id, Assert.Single(page!.Entries).Id);
        await AssertStatusAsync(HttpStatusCode.BadRequest, await _harness.Operator.GetAsync("/v1/audit?limit=0"));
        await AssertStatusAsync(HttpStatusCode.BadRequest, await _harness.Operator.GetAsync("/v1/audit?after=-1"));
    }

    private static Task<HttpResponseMessage> TokenRequestAsync(HttpClient client, string deployment = "web") =>
        client.PostAsJsonAsync(ProvisioningProtocol.TokensPath, new TokenRequest { Deployment = deployment }, ProvisioningJson.Default.TokenRequest);

    private async Task<HttpResponseMessage> AddHostRequestAsync(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        return await _harness.Operator.PostAsJsonAsync(
            "/v1/hosts", new HostRequest { Name = name, Csr = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA384).CreateSigningRequestPem() }, OperatorJson.Default.HostRequest);
    }

    private static async Task AssertStatusAsync(HttpStatusCode expected, HttpResponseMessage response)
    {
        using (response)
        {
            Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
