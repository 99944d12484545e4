using System.Security.Cryptography;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Cloister.Kms.TestServer;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>The unchanged AWS SDK for .NET against the test KMS over HTTPS, without Recipient.</summary>
public sealed class SdkOperationTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Context = new() { ["purpose"] = "test", ["tenant"] = "a" };
    private KmsHarness _kms = null!;

    public async Task InitializeAsync() => _kms = await KmsHarness.StartAsync();

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task Encrypt_then_decrypt_round_trips_and_answers_the_key_arn_for_an_alias()
    {
        using var client = _kms.Client();
        var encrypted = await client.EncryptAsync(new EncryptRequest
        {
            KeyId = KmsTestServerOptions.DefaultSymmetricAlias,
            Plaintext = new MemoryStream("secret"u8.ToArray()),
            EncryptionContext = Context,
        });
        Assert.Equal(_kms.Server.SymmetricKeyArn, encrypted.KeyId);

        var withKey = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, KeyId = KmsTestServerOptions.DefaultSymmetricKeyId, EncryptionContext = Context });
        Assert.Equal("secret"u8.ToArray(), withKey.Plaintext.ToArray());
        Assert.Equal(_kms.Server.SymmetricKeyArn, withKey.KeyId);

        encrypted.CiphertextBlob.Position = 0;
        var withoutKey = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, EncryptionContext = Context });
        Assert.Equal("secret"u8.ToArray(), withoutKey.Plaintext.ToArray());
        Assert.Equal(1, _kms.Server.CallCount("Encrypt"));
        Assert.Equal(2, _kms.Server.CallCount("Decrypt"));
    }

    [Fact]
    public async Task Decrypt_with_another_encryption_context_is_InvalidCiphertextException()
    {
        using var client = _kms.Client();
        var encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = _kms.Server.SymmetricKeyArn, Plaintext = new MemoryStream([1, 2, 3]), EncryptionContext = Context });
        var error = await Assert.ThrowsAsync<InvalidCiphertextException>(() => client.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = encrypted.CiphertextBlob,
            EncryptionContext = new Dictionary<string, string> { ["purpose"] = "test", ["tenant"] = "b" },
        }));
        Assert.Contains("encryption context", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decrypt_naming_another_key_than_the_blobs_is_IncorrectKeyException_and_an_unknown_alias_is_NotFoundException()
    {
        using var client = _kms.Client();
        var encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = _kms.Server.SymmetricKeyArn, Plaintext = new MemoryStream([1]) });
        await Assert.ThrowsAsync<IncorrectKeyException>(() => client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, KeyId = _kms.Server.KeyAgreementKeyArn }));
        await Assert.ThrowsAsync<NotFoundException>(() => client.EncryptAsync(new EncryptRequest { KeyId = "alias/nobody", Plaintext = new MemoryStream([1]) }));
    }

    [Theory]
    [InlineData("AES_256", null, 32)]
    [InlineData("AES_128", null, 16)]
    [InlineData(null, 7, 7)]
    public async Task GenerateDataKey_answers_a_plaintext_key_and_its_ciphertext(string? keySpec, int? numberOfBytes, int expected)
    {
        using var client = _kms.Client();
        var request = new GenerateDataKeyRequest { KeyId = KmsTestServerOptions.DefaultSymmetricAlias, EncryptionContext = Context, NumberOfBytes = numberOfBytes };
        if (keySpec is not null)
        {
            request.KeySpec = new DataKeySpec(keySpec);
        }

        var answer = await client.GenerateDataKeyAsync(request);
        Assert.Equal(expected, answer.Plaintext.Length);
        Assert.Equal(_kms.Server.SymmetricKeyArn, answer.KeyId);
        var decrypted = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = answer.CiphertextBlob, EncryptionContext = Context });
        Assert.Equal(answer.Plaintext.ToArray(), decrypted.Plaintext.ToArray());
    }

    [Fact]
    public async Task GenerateDataKey_without_a_size_is_ValidationException()
    {
        using var client = _kms.Client();
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn }));
        Assert.Equal("ValidationException", error.ErrorCode);
    }

    [Theory]
    [InlineData("RSA_2048")]
    [InlineData("ECC_NIST_P256")]
    public async Task GenerateDataKeyPair_answers_a_matching_pkcs8_private_key_spki_public_key_and_private_key_ciphertext(string spec)
    {
        using var client = _kms.Client();
        var answer = await client.GenerateDataKeyPairAsync(new GenerateDataKeyPairRequest { KeyId = _kms.Server.SymmetricKeyArn, KeyPairSpec = new DataKeyPairSpec(spec) });
        Assert.Equal(spec, answer.KeyPairSpec.Value);
        var privateKey = answer.PrivateKeyPlaintext.ToArray();
        AsymmetricAlgorithm pair = spec.StartsWith("RSA", StringComparison.Ordinal) ? RSA.Create() : ECDsa.Create();
        using (pair)
        {
            pair.ImportPkcs8PrivateKey(privateKey, out var read);
            Assert.Equal(privateKey.Length, read);
            Assert.Equal(answer.PublicKey.ToArray(), pair.ExportSubjectPublicKeyInfo());
        }

        var decrypted = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = answer.PrivateKeyCiphertextBlob });
        Assert.Equal(privateKey, decrypted.Plaintext.ToArray());
    }

    [Fact]
    public async Task DeriveSharedSecret_answers_the_raw_ecdh_secret_of_GetPublicKeys_key()
    {
        using var client = _kms.Client();
        var kmsPublic = await client.GetPublicKeyAsync(new GetPublicKeyRequest { KeyId = KmsTestServerOptions.DefaultKeyAgreementAlias });
        Assert.Equal(KeyUsageType.KEY_AGREEMENT, kmsPublic.KeyUsage);
        Assert.Equal(_kms.Server.KeyAgreementKeyArn, kmsPublic.KeyId);
        using var mine = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var theirs = ECDiffieHellman.Create();
        theirs.ImportSubjectPublicKeyInfo(kmsPublic.PublicKey.ToArray(), out _);

        var answer = await client.DeriveSharedSecretAsync(new DeriveSharedSecretRequest
        {
            KeyId = _kms.Server.KeyAgreementKeyArn,
            KeyAgreementAlgorithm = KeyAgreementAlgorithmSpec.ECDH,
            PublicKey = new MemoryStream(mine.ExportSubjectPublicKeyInfo()),
        });
        Assert.Equal(mine.DeriveRawSecretAgreement(theirs.PublicKey), answer.SharedSecret.ToArray());
    }

    [Fact]
    public async Task A_key_used_for_what_its_usage_does_not_allow_is_InvalidKeyUsageException()
    {
        using var client = _kms.Client();
        await Assert.ThrowsAsync<InvalidKeyUsageException>(() => client.EncryptAsync(new EncryptRequest { KeyId = _kms.Server.KeyAgreementKeyArn, Plaintext = new MemoryStream([1]) }));
        using var mine = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        await Assert.ThrowsAsync<InvalidKeyUsageException>(() => client.DeriveSharedSecretAsync(new DeriveSharedSecretRequest
        {
            KeyId = _kms.Server.SymmetricKeyArn,
            KeyAgreementAlgorithm = KeyAgreementAlgorithmSpec.ECDH,
            PublicKey = new MemoryStream(mine.ExportSubjectPublicKeyInfo()),
        }));
    }

    [Fact]
    public async Task GenerateRandom_answers_the_bytes_asked_for()
    {
        using var client = _kms.Client();
        var first = await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 48 });
        var second = await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 48 });
        Assert.Equal(48, first.Plaintext.Length);
        Assert.NotEqual(first.Plaintext.ToArray(), second.Plaintext.ToArray());
        Assert.Equal(2, _kms.Server.CallCount("GenerateRandom"));
    }

    [Fact]
    public async Task The_key_substitution_knob_answers_another_KeyId()
    {
        using var client = _kms.Client();
        _kms.Server.AnswerKeyId = _kms.Server.KeyAgreementKeyArn;
        var answer = await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_256 });
        Assert.Equal(_kms.Server.KeyAgreementKeyArn, answer.KeyId);
    }

    [Fact]
    public async Task DescribeKey_answers_the_keys_metadata()
    {
        using var client = _kms.Client();
        var symmetric = (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = KmsTestServerOptions.DefaultSymmetricAlias })).KeyMetadata;
        Assert.Equal(_kms.Server.SymmetricKeyArn, symmetric.Arn);
        Assert.Equal(KmsTestServerOptions.DefaultSymmetricKeyId, symmetric.KeyId);
        Assert.Equal(KeySpec.SYMMETRIC_DEFAULT, symmetric.KeySpec);
        Assert.Equal(KeyUsageType.ENCRYPT_DECRYPT, symmetric.KeyUsage);
        var agreement = (await client.DescribeKeyAsync(new DescribeKeyRequest { KeyId = _kms.Server.KeyAgreementKeyArn })).KeyMetadata;
        Assert.Equal([KeyAgreementAlgorithmSpec.ECDH], agreement.KeyAgreementAlgorithms);
    }

    [Fact]
    public async Task The_certificate_also_names_localhost()
    {
        var options = _kms.Server.Options;
        using var client = KmsHarness.CreateClient(
            new Uri($"https://localhost:{_kms.Server.Url.Port}/"),
            options.Region,
            new Amazon.Runtime.BasicAWSCredentials(options.Credentials.AccessKeyId, options.Credentials.SecretAccessKey),
            _kms.Server.CaCertificate);
        Assert.Equal(4, (await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 4 })).Plaintext.Length);
    }

    [Fact]
    public async Task An_explicit_Deny_wins_over_an_Allow()
    {
        using var client = _kms.Client();
        _kms.Server.SetPolicy(_kms.Server.SymmetricKeyArn, """
            {"Statement": [
              {"Sid": "All", "Effect": "Allow", "Action": "kms:*", "Resource": "*"},
              {"Sid": "NoEncrypt", "Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}
            ]}
            """);
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.EncryptAsync(new EncryptRequest { KeyId = _kms.Server.SymmetricKeyArn, Plaintext = new MemoryStream([1]) }));
        Assert.Equal("AccessDeniedException", error.ErrorCode);
        Assert.Contains("NoEncrypt", error.Message, StringComparison.Ordinal);
        Assert.Equal(16, (await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_128 })).Plaintext.Length);
    }

    [Fact]
    public async Task Starting_on_a_port_in_use_is_IOException()
    {
        await Assert.ThrowsAnyAsync<IOException>(() => KmsTestServer.StartAsync(new KmsTestServerOptions
        {
            Listen = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, _kms.Server.Url.Port),
        }));
    }
}
