using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Cloister.Kms.TestServer;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>The keys a test KMS starts with: any number, checked before any is made.</summary>
public sealed class KeyDefinitionTests
{
    private const string Second = "22222222-2222-4222-8222-222222222222";

    [Fact]
    public async Task Extra_keys_get_their_own_material_and_the_first_symmetric_key_stays_first()
    {
        await using var server = await KmsTestServer.StartAsync(new KmsTestServerOptions
        {
            Keys =
            [
                new(KmsTestServerOptions.DefaultSymmetricKeyId, KmsTestKeySpec.SymmetricDefault, "alias/first"),
                new(Second, KmsTestKeySpec.SymmetricDefault, "alias/second"),
                new(KmsTestServerOptions.DefaultKeyAgreementKeyId, KmsTestKeySpec.EccNistP256KeyAgreement),
            ],
        });
        Assert.EndsWith(KmsTestServerOptions.DefaultSymmetricKeyId, server.SymmetricKeyArn, StringComparison.Ordinal);
        using var client = KmsHarness.CreateClient(server.Url, server.Options.Region,
            new BasicAWSCredentials(server.Options.Credentials.AccessKeyId, server.Options.Credentials.SecretAccessKey), server.CaCertificate);
        var encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = "alias/second", Plaintext = new MemoryStream([9]) });
        Assert.Equal($"arn:aws:kms:us-east-1:111122223333:key/{Second}", encrypted.KeyId);
        await Assert.ThrowsAsync<IncorrectKeyException>(() => client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, KeyId = "alias/first" }));
    }

    [Theory]
    [InlineData("22222222-2222-4222-8222-22222222222A", null)]
    [InlineData("not-a-uuid", null)]
    [InlineData(KmsTestServerOptions.DefaultSymmetricKeyId, null)]
    [InlineData(Second, KmsTestServerOptions.DefaultSymmetricAlias)]
    [InlineData(Second, "payments")]
    [InlineData(Second, "alias/aws/kms")]
    public async Task A_bad_key_definition_is_ArgumentException(string keyId, string? alias)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => KmsTestServer.StartAsync(new KmsTestServerOptions
        {
            Keys = [.. new KmsTestServerOptions().Keys, new(keyId, KmsTestKeySpec.SymmetricDefault, alias)],
        }));
    }
}
