using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Verification;
using Cloister.Enclave.Ingress;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary><c>GET /.well-known/attestation</c> over attested TLS, answered by the ingress and never by the app.</summary>
public sealed class AttestationEndpointTests : IAsyncLifetime
{
    private IngressHarness _harness = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _harness = await IngressHarness.StartAsync();
        _client = _harness.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _harness.DisposeAsync();
    }

    [Fact]
    public async Task Without_a_nonce_it_answers_the_base_certificates_own_document()
    {
        using var response = await _client.GetAsync(AttestationEndpoint.Path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var document = await DocumentAsync(response);
        var served = _harness.Port.Base.Current.Served;
        Assert.Equal(served.Document, document);
        Assert.True(AttestedCertificate.TryGetDocument(served.Certificate, out var embedded));
        Assert.Equal(embedded, document);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_a_nonce_it_answers_a_fresh_document_with_that_nonce_bound_to_the_base_certificates_key(bool urlSafe)
    {
        // 0xfb 0xff gives '+' and '/' in standard base64: both spellings must arrive intact.
        var nonce = new byte[] { 0xfb, 0xff, 0xbf, 1, 2, 3, 4, 5 };
        var text = urlSafe ? Convert.ToBase64String(nonce).Replace('+', '-').Replace('/', '_').TrimEnd('=') : Uri.EscapeDataString(Convert.ToBase64String(nonce));

        using var response = await _client.GetAsync($"{AttestationEndpoint.Path}?nonce={text}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await DocumentAsync(response);
        Assert.NotEqual(_harness.Port.Base.Current.Served.Document, document);
        var verification = _harness.Verify(document, new AttestationPolicy { ExpectedNonce = nonce, ExpectedUserData = _harness.Port.Base.Current.Served.KeyBinding, AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("not*base64")]
    [InlineData("A")]
    public async Task A_nonce_that_is_not_base64_gets_400(string nonce)
    {
        using var response = await _client.GetAsync($"{AttestationEndpoint.Path}?nonce={nonce}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal($"nonce: not 1 to {AttestationEndpoint.MaxNonceLength} bytes of base64 or base64url", json.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_nonce_over_1024_bytes_gets_400()
    {
        using var response = await _client.GetAsync($"{AttestationEndpoint.Path}?nonce={Convert.ToBase64String(RandomNumberGenerator.GetBytes(1025)).TrimEnd('=')}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Other_methods_get_405()
    {
        using var response = await _client.PostAsync(AttestationEndpoint.Path, new StringContent(""));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET"], response.Content.Headers.Allow);
    }

    private static async Task<byte[]> DocumentAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("attestation_doc").GetBytesFromBase64();
    }
}
