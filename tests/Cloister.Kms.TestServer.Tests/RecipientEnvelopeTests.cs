using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Text;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Cloister.Testing;

namespace Cloister.Kms.TestServer.Tests;

/// <summary>
/// CiphertextForRecipient against the real KMS answer in tests/vectors/kms: the same BER shape (indefinite and
/// definite lengths where the vector has them, same tags, OIDs, versions and algorithm parameters), and readable by
/// the BCL's EnvelopedCms.
/// </summary>
public sealed class RecipientEnvelopeTests
{
    private static byte[] Vector => File.ReadAllBytes(RepositoryPaths.Vector("kms", "enclaver_ciphertext-for-recipient.ber"));

    [Fact]
    public void The_bcl_reads_the_real_vector_so_it_can_judge_ours()
    {
        using var key = RSA.Create();
        key.ImportPkcs8PrivateKey(File.ReadAllBytes(RepositoryPaths.Vector("kms", "enclaver_recipient-key.pkcs8.der")), out _);
        var cms = new EnvelopedCms();
        cms.Decode(Vector);
        cms.Decrypt(cms.RecipientInfos[0], key);
        Assert.Equal(File.ReadAllBytes(RepositoryPaths.Vector("kms", "enclaver_expected-plaintext.txt")), cms.ContentInfo.Content);
    }

    [Fact]
    public async Task Ours_has_the_vectors_shape_for_the_same_plaintext_and_key_size()
    {
        await using var kms = await KmsHarness.StartAsync();
        using var client = kms.Client();
        var encrypted = await client.EncryptAsync(new EncryptRequest { KeyId = kms.Server.SymmetricKeyArn, Plaintext = new MemoryStream("Hello, World"u8.ToArray()) });
        var answer = await client.DecryptAsync(new DecryptRequest { CiphertextBlob = encrypted.CiphertextBlob, Recipient = kms.Recipient() });
        var ours = answer.CiphertextForRecipient.ToArray();

        Assert.Equal(Shape(Vector), Shape(ours));
        Assert.Equal(Vector.Length, ours.Length);
    }

    [Fact]
    public async Task Long_content_is_split_into_chunks_of_1000_bytes_and_still_decrypts()
    {
        await using var kms = await KmsHarness.StartAsync();
        using var client = kms.Client();
        var answer = await client.GenerateDataKeyPairAsync(new GenerateDataKeyPairRequest { KeyId = kms.Server.SymmetricKeyArn, KeyPairSpec = DataKeyPairSpec.RSA_4096, Recipient = kms.Recipient() });
        var ours = answer.CiphertextForRecipient.ToArray();
        var chunks = Shape(ours).Split(' ').Where(t => t.StartsWith("04:", StringComparison.Ordinal)).Skip(2).ToList();
        Assert.True(chunks.Count >= 3, Shape(ours));
        Assert.All(chunks[..^1], c => Assert.Equal("04:1000", c));

        var cms = new EnvelopedCms();
        cms.Decode(ours);
        cms.Decrypt(cms.RecipientInfos[0], kms.RecipientKey);
        using var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(cms.ContentInfo.Content, out _);
        Assert.Equal(answer.PublicKey.ToArray(), rsa.ExportSubjectPublicKeyInfo());
    }

    /// <summary>
    /// The TLV tree as text: each element's tag byte and length ("inf" for indefinite), with the value itself for
    /// INTEGER, NULL and OBJECT IDENTIFIER (what must be equal) and only the length for keys, IVs and ciphertext
    /// (what is random).
    /// </summary>
    private static string Shape(byte[] ber)
    {
        var text = new StringBuilder();
        var offset = 0;
        Walk(ber, ref offset, ber.Length, text);
        Assert.Equal(ber.Length, offset);
        return text.ToString().Trim();
    }

    private static void Walk(byte[] ber, ref int offset, int end, StringBuilder text)
    {
        while (offset < end)
        {
            var tag = ber[offset++];
            if (tag == 0 && ber[offset] == 0)
            {
                offset++;
                text.Append("EOC ");
                return;
            }

            int? length = ber[offset] switch
            {
                0x80 => null,
                < 0x80 => ber[offset],
                0x81 => ber[offset + 1],
                0x82 => (ber[offset + 1] << 8) | ber[offset + 2],
                _ => throw new AsnContentException($"length form {ber[offset]:x2} at {offset}"),
            };
            offset += ber[offset] switch { 0x81 => 2, 0x82 => 3, _ => 1 };
            var constructed = (tag & 0x20) != 0;
            text.Append($"{tag:x2}:{(length is { } l ? l.ToString(System.Globalization.CultureInfo.InvariantCulture) : "inf")}");
            if (!constructed && tag is 0x02 or 0x05 or 0x06)
            {
                text.Append('=').Append(Convert.ToHexString(ber, offset, length!.Value));
            }

            text.Append(' ');
            if (!constructed)
            {
                offset += length!.Value;
            }
            else if (length is null)
            {
                Walk(ber, ref offset, end, text);
            }
            else
            {
                Walk(ber, ref offset, offset + length.Value, text);
            }
        }
    }
}
