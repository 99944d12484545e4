using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Verification;
using Cloister.Enclave.LocalApi;

namespace Cloister.Enclave.Tests.LocalApi;

/// <summary>The local API in process, on a free loopback port, over a socket NSM served by the software NSM.</summary>
public sealed class LocalApiServerTests : IAsyncLifetime
{
    private LocalApiHarness _api = null!;

    public async Task InitializeAsync() => _api = await LocalApiHarness.StartAsync(new LocalApiOptions());

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Document_carries_the_nonce_user_data_and_public_key_asked_for_and_verifies_under_the_simulated_root()
    {
        var nonce = RandomBytes(32);
        var userData = RandomBytes(1024);
        var publicKey = RandomBytes(97);

        using var response = await PostAsync($$"""{"nonce":"{{Convert.ToBase64String(nonce)}}","user_data":"{{Convert.ToBase64String(userData)}}","public_key":"{{Convert.ToBase64String(publicKey)}}"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/cbor", response.Content.Headers.ContentType?.MediaType);
        var verification = Verify(await response.Content.ReadAsByteArrayAsync(), new AttestationPolicy { ExpectedNonce = nonce, ExpectedUserData = userData, ExpectedPublicKey = publicKey, AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
    }

    [Fact]
    public async Task Cages_challenge_becomes_user_data_as_utf8_and_publicKey_is_accepted()
    {
        var publicKey = RandomBytes(65);

        using var response = await PostAsync($$"""{"challenge":"prove it ✓","publicKey":"{{Convert.ToBase64String(publicKey)}}"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var verification = Verify(await response.Content.ReadAsByteArrayAsync(), new AttestationPolicy { ExpectedUserData = Encoding.UTF8.GetBytes("prove it ✓"), ExpectedPublicKey = publicKey, AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
        Assert.Null(verification.Document!.Document.Nonce);
    }

    [Fact]
    public async Task Empty_body_asks_for_a_document_without_optional_fields()
    {
        using var response = await PostAsync("");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = Verify(await response.Content.ReadAsByteArrayAsync(), null).Document!.Document;
        Assert.Null(document.Nonce);
        Assert.Null(document.UserData);
        Assert.Null(document.PublicKey);
    }

    [Theory]
    [InlineData("""{"nonce":"not base64!"}""", "nonce: not valid base64")]
    [InlineData("""{"user_data":"AAA"}""", "user_data: not valid base64")]
    [InlineData("""{"public_key":"%%%%"}""", "public_key: not valid base64")]
    [InlineData("""{"nonce":"AA==","extra":1}""", "extra")]
    [InlineData("""{"nonce":5}""", "the body is not the expected JSON object")]
    [InlineData("""[1,2]""", "the body is not the expected JSON object")]
    [InlineData("""null""", "the body is null, not an object")]
    [InlineData("""{"user_data":"AA==","challenge":"x"}""", "give either user_data or challenge, not both")]
    [InlineData("""{"public_key":"AA==","publicKey":"AA=="}""", "give either public_key or publicKey, not both")]
    public async Task Bad_input_gets_400_with_a_json_error_naming_the_problem(string body, string expected)
    {
        using var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await ErrorAsync(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nonce")]
    [InlineData("user_data")]
    [InlineData("public_key")]
    public async Task Fields_over_1024_bytes_get_400(string field)
    {
        using var response = await PostAsync($$"""{"{{field}}":"{{Convert.ToBase64String(new byte[1025])}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal($"{field}: 1025 bytes, the NSM accepts at most 1024", await ErrorAsync(response));
    }

    [Fact]
    public async Task Oversized_challenge_is_measured_in_utf8_bytes()
    {
        using var response = await PostAsync($$"""{"challenge":"{{new string('é', 513)}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("challenge: 1026 bytes, the NSM accepts at most 1024", await ErrorAsync(response));
    }

    [Fact]
    public async Task Other_methods_and_paths_are_refused()
    {
        using var get = await _api.Client.GetAsync(LocalApiServer.AttestationDocPath);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(["POST"], get.Content.Headers.Allow);

        using var other = await _api.Client.PostAsync("/attestation", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal("no such endpoint; POST /attestation-doc", await ErrorAsync(other));
    }

    [Theory]
    [InlineData("/encrypt")]
    [InlineData("/decrypt")]
    public async Task Without_api_crypto_the_crypto_paths_say_what_turns_them_on(string path)
    {
        using var response = await _api.Client.PostAsync(path, new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal($"{path} is off in this enclave: it needs api.crypto: true in enclave.yaml", await ErrorAsync(response));
    }

    [Fact]
    public async Task With_api_attestation_off_the_document_is_not_served()
    {
        await using var api = await LocalApiHarness.StartAsync(new LocalApiOptions { Attestation = false });

        using var response = await api.Client.PostAsync(LocalApiServer.AttestationDocPath, new StringContent(""));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("/attestation-doc is off in this enclave: it needs api.attestation: true in enclave.yaml", await ErrorAsync(response));
    }

    [Fact]
    public async Task Body_over_the_limit_gets_413()
    {
        using var response = await PostAsync($$"""{"nonce":"{{new string('A', 20_000)}}"}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    private static byte[] RandomBytes(int length) => System.Security.Cryptography.RandomNumberGenerator.GetBytes(length);

    private static async Task<string> ErrorAsync(HttpResponseMessage response) => (await LocalApiHarness.ReadErrorAsync(response)).Error;

    private async Task<HttpResponseMessage> PostAsync(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _api.Client.PostAsync(LocalApiServer.AttestationDocPath, content);
    }

    private AttestationVerificationResult Verify(byte[] document, AttestationPolicy? policy) =>
        new AttestationVerifier(new AttestationVerifierOptions { TrustedRoots = [_api.Root.Certificate] }).Verify(document, policy);
}
