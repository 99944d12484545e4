using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Cloister.Kms.TestServer;
using Microsoft.Extensions.Time.Testing;
using CmsRecipientInfo = System.Security.Cryptography.Pkcs.RecipientInfo;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>
/// Attested requests from the unchanged SDK: a simulated NSM's document as Recipient, the answer's plaintext member
/// left out and CiphertextForRecipient decrypted with the BCL's EnvelopedCms and the enclave's key.
/// </summary>
public sealed class RecipientTests : IAsyncLifetime
{
    private KmsHarness _kms = null!;

    public async Task InitializeAsync() => _kms = await KmsHarness.StartAsync();

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task All_five_operations_answer_CiphertextForRecipient_instead_of_their_plaintext()
    {
        using var client = _kms.Client();
        var encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = _kms.Server.SymmetricKeyArn, Plaintext = new MemoryStream("Hello, World"u8.ToArray()) });

        var decrypt = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, KeyId = _kms.Server.SymmetricKeyArn, Recipient = _kms.Recipient() });
        Assert.True(decrypt.Plaintext is null || decrypt.Plaintext.Length == 0);
        Assert.Equal("Hello, World"u8.ToArray(), Open(decrypt.CiphertextForRecipient));

        var dataKey = await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_256, Recipient = _kms.Recipient() });
        Assert.True(dataKey.Plaintext is null || dataKey.Plaintext.Length == 0);
        var dataKeyPlaintext = Open(dataKey.CiphertextForRecipient);
        Assert.Equal(32, dataKeyPlaintext.Length);
        Assert.Equal(dataKeyPlaintext, (await client.DecryptAsync(new DecryptRequest { CiphertextBlob = dataKey.CiphertextBlob })).Plaintext.ToArray());

        var pair = await client.GenerateDataKeyPairAsync(new GenerateDataKeyPairRequest { KeyId = _kms.Server.SymmetricKeyArn, KeyPairSpec = DataKeyPairSpec.RSA_2048, Recipient = _kms.Recipient() });
        Assert.True(pair.PrivateKeyPlaintext is null || pair.PrivateKeyPlaintext.Length == 0);
        using (var rsa = RSA.Create())
        {
            rsa.ImportPkcs8PrivateKey(Open(pair.CiphertextForRecipient), out _);
            Assert.Equal(pair.PublicKey.ToArray(), rsa.ExportSubjectPublicKeyInfo());
        }

        using var mine = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var shared = await client.DeriveSharedSecretAsync(new DeriveSharedSecretRequest
        {
            KeyId = _kms.Server.KeyAgreementKeyArn,
            KeyAgreementAlgorithm = KeyAgreementAlgorithmSpec.ECDH,
            PublicKey = new MemoryStream(mine.ExportSubjectPublicKeyInfo()),
            Recipient = _kms.Recipient(),
        });
        Assert.True(shared.SharedSecret is null || shared.SharedSecret.Length == 0);
        using var theirs = ECDiffieHellman.Create();
        theirs.ImportSubjectPublicKeyInfo((await client.GetPublicKeyAsync(new GetPublicKeyRequest { KeyId = _kms.Server.KeyAgreementKeyArn })).PublicKey.ToArray(), out _);
        Assert.Equal(mine.DeriveRawSecretAgreement(theirs.PublicKey), Open(shared.CiphertextForRecipient));

        var random = await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 32, Recipient = _kms.Recipient() });
        Assert.True(random.Plaintext is null || random.Plaintext.Length == 0);
        Assert.Equal(32, Open(random.CiphertextForRecipient).Length);

        foreach (var action in (string[])["Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom"])
        {
            Assert.Equal(1, _kms.Server.RecipientCallCount(action));
        }
    }

    [Fact]
    public async Task The_policy_cloister_trust_prints_admits_this_image_and_refuses_another_pcr1()
    {
        using var client = _kms.Client();
        _kms.Server.SetPolicy(_kms.Server.SymmetricKeyArn, Policy(KmsHarness.Pcr0, KmsHarness.Pcr1, KmsHarness.Pcr2));
        var admitted = await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_256, Recipient = _kms.Recipient() });
        Assert.Equal(32, Open(admitted.CiphertextForRecipient).Length);

        var otherPcr1 = SHA384.HashData("another kernel"u8);
        _kms.Server.SetPolicy(_kms.Server.SymmetricKeyArn, Policy(KmsHarness.Pcr0, otherPcr1, KmsHarness.Pcr2));
        var refused = await DeniedAsync(() => client.GenerateDataKeyAsync(
            new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_256, Recipient = _kms.Recipient() }));
        Assert.Contains("kms:RecipientAttestation:PCR1", refused.Message, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexStringLower(otherPcr1), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_policy_refuses_a_request_without_Recipient_and_compares_ignoring_case()
    {
        using var client = _kms.Client();
        var upper = Policy(KmsHarness.Pcr0, KmsHarness.Pcr1, KmsHarness.Pcr2).Replace(Convert.ToHexStringLower(KmsHarness.Pcr0), Convert.ToHexString(KmsHarness.Pcr0), StringComparison.Ordinal);
        _kms.Server.SetPolicy(KmsTestServerOptions.DefaultSymmetricAlias, upper);
        var refused = await DeniedAsync(() => client.GenerateDataKeyAsync(
            new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_256 }));
        Assert.Contains("no such value", refused.Message, StringComparison.Ordinal);

        var admitted = await client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = _kms.Server.SymmetricKeyArn, KeySpec = DataKeySpec.AES_256, Recipient = _kms.Recipient() });
        Assert.Equal(32, Open(admitted.CiphertextForRecipient).Length);
    }

    [Fact]
    public async Task A_policy_on_star_governs_GenerateRandom()
    {
        using var client = _kms.Client();
        _kms.Server.SetPolicy("*", Policy(KmsHarness.Pcr0, SHA384.HashData("x"u8), KmsHarness.Pcr2));
        await DeniedAsync(() => client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 8, Recipient = _kms.Recipient() }));
        _kms.Server.SetPolicy("*", null);
        Assert.Equal(8, Open((await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 8, Recipient = _kms.Recipient() })).CiphertextForRecipient).Length);
    }

    [Fact]
    public void A_policy_with_an_operator_the_server_cannot_evaluate_is_refused_when_set()
    {
        var error = Assert.Throws<ArgumentException>(() => _kms.Server.SetPolicy(_kms.Server.SymmetricKeyArn,
            """{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Condition": {"StringLike": {"kms:RecipientAttestation:PCR0": "*"}}}]}"""));
        Assert.Contains("StringLike", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_recipient_substitution_knob_encrypts_to_another_key()
    {
        using var client = _kms.Client();
        using var other = RSA.Create(2048);
        _kms.Server.RecipientKeyOverride = other.ExportSubjectPublicKeyInfo();
        var answer = await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 16, Recipient = _kms.Recipient() });
        var cms = new EnvelopedCms();
        cms.Decode(answer.CiphertextForRecipient.ToArray());
        var recipient = Assert.Single(cms.RecipientInfos.Cast<CmsRecipientInfo>());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(other.ExportSubjectPublicKeyInfo())), (string)recipient.RecipientIdentifier.Value!);
        Assert.ThrowsAny<CryptographicException>(() => cms.Decrypt(recipient, _kms.RecipientKey));
        cms.Decrypt(recipient, other);
        Assert.Equal(16, cms.ContentInfo.Content.Length);
    }

    [Fact]
    public async Task The_ciphertext_override_knob_answers_exactly_its_bytes()
    {
        using var client = _kms.Client();
        _kms.Server.RecipientCiphertextOverride = [0x30, 0x80, 0x00, 0x00];
        var answer = await client.DecryptAsync(new DecryptRequest
        {
            CiphertextBlob = (await client.EncryptAsync(new EncryptRequest { KeyId = _kms.Server.SymmetricKeyArn, Plaintext = new MemoryStream([1]) })).CiphertextBlob,
            Recipient = _kms.Recipient(),
        });
        Assert.Equal([0x30, 0x80, 0x00, 0x00], answer.CiphertextForRecipient.ToArray());
    }

    [Fact]
    public async Task A_document_under_another_root_is_refused()
    {
        using var client = _kms.Client();
        await using var stranger = await KmsHarness.StartAsync();
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(new GenerateRandomRequest
        {
            NumberOfBytes = 8,
            Recipient = stranger.Recipient(),
        }));
        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Contains("UntrustedRoot", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_document_older_than_the_maximum_age_is_refused()
    {
        var tenMinutesAgo = new FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-10));
        await using var kms = await KmsHarness.StartAsync(nsmClock: tenMinutesAgo);
        using var client = kms.Client();
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(new GenerateRandomRequest
        {
            NumberOfBytes = 8,
            Recipient = kms.Recipient(),
        }));
        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.True(error.Message.Contains("DocumentTooOld", StringComparison.Ordinal), error.Message);

        tenMinutesAgo.SetUtcNow(DateTimeOffset.UtcNow);
        Assert.Equal(8, Open((await client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 8, Recipient = kms.Recipient() })).CiphertextForRecipient, kms.RecipientKey).Length);
    }

    [Fact]
    public async Task A_document_without_an_rsa_public_key_is_refused()
    {
        using var client = _kms.Client();
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var document = ((Cloister.Attestation.Nsm.AttestationResponse)_kms.Nsm.Process(new Cloister.Attestation.Nsm.AttestationRequest(publicKey: ec.ExportSubjectPublicKeyInfo()))).Document;
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(new GenerateRandomRequest
        {
            NumberOfBytes = 8,
            Recipient = new Amazon.KeyManagementService.Model.RecipientInfo { AttestationDocument = new MemoryStream(document), KeyEncryptionAlgorithm = KeyEncryptionMechanism.RSAES_OAEP_SHA_256 },
        }));
        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Contains("RSA", error.Message, StringComparison.Ordinal);
    }

    private static async Task<AmazonKeyManagementServiceException> DeniedAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(call);
        Assert.Equal("AccessDeniedException", error.ErrorCode);
        Assert.Equal(400, (int)error.StatusCode);
        return error;
    }

    /// <summary>The statement of docs/kms.md "Key policies", with these PCRs.</summary>
    private static string Policy(byte[] pcr0, byte[] pcr1, byte[] pcr2) => $$"""
        {
          "Version": "2012-10-17",
          "Statement": [{
            "Sid": "CloisterEnclaveTest",
            "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::111122223333:role/REPLACE-WITH-THE-HOST-ROLE" },
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair", "kms:DeriveSharedSecret", "kms:GenerateRandom"],
            "Resource": "*",
            "Condition": {
              "StringEqualsIgnoreCase": {
                "kms:RecipientAttestation:ImageSha384": "{{Convert.ToHexStringLower(pcr0)}}",
                "kms:RecipientAttestation:PCR1": "{{Convert.ToHexStringLower(pcr1)}}",
                "kms:RecipientAttestation:PCR2": "{{Convert.ToHexStringLower(pcr2)}}"
              }
            }
          }]
        }
        """;

    private byte[] Open(MemoryStream ciphertextForRecipient, RSA? recipientKey = null)
    {
        recipientKey ??= _kms.RecipientKey;
        var cms = new EnvelopedCms();
        cms.Decode(ciphertextForRecipient.ToArray());
        var recipient = Assert.Single(cms.RecipientInfos.Cast<CmsRecipientInfo>());
        Assert.Equal(SubjectIdentifierType.SubjectKeyIdentifier, recipient.RecipientIdentifier.Type);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(recipientKey.ExportSubjectPublicKeyInfo())), (string)recipient.RecipientIdentifier.Value!);
        cms.Decrypt(recipient, recipientKey);
        return cms.ContentInfo.Content;
    }
}
