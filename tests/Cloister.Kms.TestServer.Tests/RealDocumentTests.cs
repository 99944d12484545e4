using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Cloister.Attestation.Documents;
using Cloister.Kms.TestServer;
using Cloister.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>
/// A recorded AWS document (tests/vectors/attestation/real, one whose public_key is an RSA-2048 SPKI) under the
/// default trust, AWS's root G1, at the document's pin time: the test KMS answers it as KMS would.
/// </summary>
public sealed class RealDocumentTests
{
    private static readonly DateTimeOffset PinTime = new(2021, 3, 24, 16, 11, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_real_aws_document_is_accepted_under_the_aws_root_and_pinned_by_its_pcr0()
    {
        var document = await File.ReadAllBytesAsync(RepositoryPaths.Vector("attestation", "real", "anjuna_2021-03-24_prod_pubkey.cbor"));
        var decoded = AttestationDocumentDecoder.Decode(document).Document;
        await using var kms = await KmsHarness.StartAsync(o => new KmsTestServerOptions { AttestationTimeProvider = new FakeTimeProvider(PinTime) });
        Assert.Null(kms.Server.Options.AttestationRoot);
        using var client = kms.Client();
        GenerateRandomRequest Request() => new()
        {
            NumberOfBytes = 32,
            Recipient = new Amazon.KeyManagementService.Model.RecipientInfo { AttestationDocument = new MemoryStream(document), KeyEncryptionAlgorithm = KeyEncryptionMechanism.RSAES_OAEP_SHA_256 },
        };

        kms.Server.SetPolicy("*", $$"""
            {"Statement": [{"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*",
              "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": "{{Convert.ToHexStringLower(decoded.Pcrs[0])}}" } } }] }
            """);
        var answer = await client.GenerateRandomAsync(Request());
        var cms = new EnvelopedCms();
        cms.Decode(answer.CiphertextForRecipient.ToArray());
        var recipient = Assert.Single(cms.RecipientInfos.Cast<System.Security.Cryptography.Pkcs.RecipientInfo>());
        Assert.Equal(Convert.ToHexString(SHA256.HashData(decoded.PublicKey!)), (string)recipient.RecipientIdentifier.Value!);

        kms.Server.SetPolicy("*", $$"""
            {"Statement": [{"Effect": "Allow", "Action": "kms:GenerateRandom", "Resource": "*",
              "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:PCR8": "{{Convert.ToHexStringLower(SHA384.HashData("signer"u8))}}" } } }] }
            """);
        var refused = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(Request()));
        Assert.Equal("AccessDeniedException", refused.ErrorCode);
        Assert.Contains("kms:RecipientAttestation:PCR8", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_document_at_the_real_clock_is_refused()
    {
        var document = await File.ReadAllBytesAsync(RepositoryPaths.Vector("attestation", "real", "anjuna_2021-03-24_prod_pubkey.cbor"));
        await using var kms = await KmsHarness.StartAsync(o => new KmsTestServerOptions());
        using var client = kms.Client();
        var error = await Assert.ThrowsAnyAsync<AmazonKeyManagementServiceException>(() => client.GenerateRandomAsync(new GenerateRandomRequest
        {
            NumberOfBytes = 32,
            Recipient = new Amazon.KeyManagementService.Model.RecipientInfo { AttestationDocument = new MemoryStream(document), KeyEncryptionAlgorithm = KeyEncryptionMechanism.RSAES_OAEP_SHA_256 },
        }));
        Assert.Equal("ValidationException", error.ErrorCode);
        Assert.Contains("CertificateExpired", error.Message, StringComparison.Ordinal);
    }
}
