using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Cloister.Kms.TestServer;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>SigV4 as KMS checks it: the SDK's signature is accepted, anything else refused with AWS's error types.</summary>
public sealed class SignatureTests
{
    private static GenerateRandomRequest Random => new() { NumberOfBytes = 8 };

    [Fact]
    public async Task A_wrong_secret_is_InvalidSignatureException_and_counts_no_call()
    {
        await using var kms = await KmsHarness.StartAsync();
        using var client = kms.Client(new BasicAWSCredentials(kms.Server.Options.Credentials.AccessKeyId, "not-the-secret"));
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(Random));
        Assert.Equal("InvalidSignatureException", error.ErrorCode);
        Assert.Equal(400, (int)error.StatusCode);
        Assert.Equal(0, kms.Server.CallCount("GenerateRandom"));
    }

    [Fact]
    public async Task An_unknown_access_key_is_UnrecognizedClientException()
    {
        await using var kms = await KmsHarness.StartAsync();
        using var client = kms.Client(new BasicAWSCredentials("AKIAUNKNOWNUNKNOWN00", kms.Server.Options.Credentials.SecretAccessKey));
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(Random));
        Assert.Equal("UnrecognizedClientException", error.ErrorCode);
    }

    [Fact]
    public async Task A_scope_for_another_region_is_InvalidSignatureException()
    {
        await using var kms = await KmsHarness.StartAsync();
        using var client = kms.Client(region: "eu-west-1");
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(Random));
        Assert.Equal("InvalidSignatureException", error.ErrorCode);
        Assert.Contains("region", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Temporary_credentials_need_their_session_token()
    {
        await using var kms = await KmsHarness.StartAsync(o => new KmsTestServerOptions
        {
            AttestationRoot = o.AttestationRoot,
            Credentials = new KmsCredentials("ASIACLOISTERTESTKMS1", "temporary-secret", "the-session-token"),
        });
        using var withToken = kms.Client();
        Assert.Equal(8, (await withToken.GenerateRandomAsync(Random)).Plaintext.Length);

        using var withoutToken = kms.Client(new BasicAWSCredentials("ASIACLOISTERTESTKMS1", "temporary-secret"));
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => withoutToken.GenerateRandomAsync(Random));
        Assert.Equal("UnrecognizedClientException", error.ErrorCode);
    }

    [Fact]
    public async Task A_signature_dated_more_than_fifteen_minutes_from_the_servers_clock_is_InvalidSignatureException()
    {
        // The server's clock starts 20 minutes behind the SDK's, then moves.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-20));
        await using var kms = await KmsHarness.StartAsync(o => new KmsTestServerOptions { AttestationRoot = o.AttestationRoot, TimeProvider = clock });
        using var client = kms.Client();
        var early = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(Random));
        Assert.Equal("InvalidSignatureException", early.ErrorCode);
        Assert.Contains("Signature not yet current", early.Message, StringComparison.Ordinal);

        clock.SetUtcNow(DateTimeOffset.UtcNow);
        Assert.Equal(8, (await client.GenerateRandomAsync(Random)).Plaintext.Length);

        clock.Advance(TimeSpan.FromMinutes(20));
        var late = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(Random));
        Assert.Equal("InvalidSignatureException", late.ErrorCode);
        Assert.Contains("Signature expired", late.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_http_serves_the_sdk_too()
    {
        await using var kms = await KmsHarness.StartAsync(o => new KmsTestServerOptions { AttestationRoot = o.AttestationRoot, UseHttps = false });
        Assert.Equal("http", kms.Server.Url.Scheme);
        Assert.Null(kms.Server.CaFile);
        using var client = kms.Client();
        Assert.Equal(8, (await client.GenerateRandomAsync(Random)).Plaintext.Length);
    }
}
