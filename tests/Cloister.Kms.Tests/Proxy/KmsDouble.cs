using System.Buffers;
using System.Text;
using System.Text.Json;
using Cloister.Kms.Upstream;

namespace Cloister.Kms.Tests.Proxy;

/// <summary>
/// Answers as KMS does for the proxy's tests: each Recipient operation with a CMS (BCL EnvelopedCms) for the public key
/// in the request's attestation document and the key ARN its KeyId resolves to; other actions with KMS-shaped JSON.
/// The attestation documents are <see cref="Attest"/>'s: a marker and the SPKI, as a real one holds it in public_key.
/// </summary>
internal sealed class KmsDouble : IKmsUpstream
{
    public const string Region = "us-east-1";
    public const string Account = "111122223333";
    public const string KeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    public const string OtherKeyArn = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321";
    public const string AliasArn = "arn:aws:kms:us-east-1:111122223333:alias/payments";
    public const string AliasName = "alias/payments";

    private static readonly byte[] s_marker = "NSM-DOCUMENT-FOR:"u8.ToArray();

    public List<KmsCall> Calls { get; } = [];

    /// <summary>The plaintext each Recipient operation encrypts.</summary>
    public byte[] Plaintext { get; set; } = Encoding.ASCII.GetBytes("Hello, World");

    /// <summary>When set, the KeyId answered instead of the one the request resolves to.</summary>
    public string? AnswerKeyId { get; set; }

    /// <summary>When set, the recipient public key the CMS is encrypted to instead of the document's.</summary>
    public ReadOnlyMemory<byte>? EncryptTo { get; set; }

    /// <summary>When set, the whole answer: status and body.</summary>
    public (int Status, byte[] Body)? Answer { get; set; }

    /// <summary>When set, the base64 CiphertextForRecipient answered instead of a CMS.</summary>
    public string? RecipientCiphertext { get; set; }

    /// <summary>When set, what SendAsync throws.</summary>
    public Exception? Failure { get; set; }

    /// <summary>The attester of the unit tests: a stand-in document that holds the SPKI.</summary>
    public static Task<byte[]> Attest(ReadOnlyMemory<byte> spki, CancellationToken cancellationToken) => Task.FromResult<byte[]>([.. s_marker, .. spki.Span]);

    /// <summary>The SPKI of a document made by <see cref="Attest"/>.</summary>
    public static byte[] SpkiOf(byte[] document)
    {
        Assert.True(document.AsSpan().StartsWith(s_marker), "not a document of KmsDouble.Attest");
        return document[s_marker.Length..];
    }

    /// <summary>The Recipient's attestation document of a forwarded call, decoded.</summary>
    public static byte[] DocumentOf(KmsCall call)
    {
        using var json = JsonDocument.Parse(call.Body);
        var recipient = json.RootElement.GetProperty("Recipient");
        Assert.Equal("RSAES_OAEP_SHA_256", recipient.GetProperty("KeyEncryptionAlgorithm").GetString());
        return recipient.GetProperty("AttestationDocument").GetBytesFromBase64();
    }

    public Task<KmsReply> SendAsync(KmsCall request, CancellationToken cancellationToken)
    {
        lock (Calls)
        {
            Calls.Add(request);
        }

        if (Failure is { } failure)
        {
            throw failure;
        }

        if (Answer is { } answer)
        {
            return Task.FromResult(new KmsReply(answer.Status, answer.Body, "application/x-amz-json-1.1"));
        }

        var action = request.Target["TrentService.".Length..];
        using var json = JsonDocument.Parse(request.Body);
        var root = json.RootElement;
        var keyId = AnswerKeyId ?? (root.TryGetProperty("KeyId", out var asked) ? Resolve(asked.GetString()!) : null);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            switch (action)
            {
                case "Decrypt":
                    writer.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
                    break;
                case "GenerateDataKey":
                    writer.WriteString("CiphertextBlob", "AQIDBAUGBwg=");
                    break;
                case "GenerateDataKeyPair":
                    writer.WriteString("KeyPairSpec", "ECC_NIST_P256");
                    writer.WriteString("PrivateKeyCiphertextBlob", "AQIDBAUGBwg=");
                    writer.WriteString("PublicKey", "MFkwEwYHKoZIzj0CAQ==");
                    break;
                case "DeriveSharedSecret":
                    writer.WriteString("KeyAgreementAlgorithm", "ECDH");
                    writer.WriteString("KeyOrigin", "AWS_KMS");
                    break;
                default:
                    writer.WriteString("CiphertextBlob", "AQIDBAUGBwg=");
                    writer.WriteString("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
                    break;
            }

            if (keyId is not null)
            {
                writer.WriteString("KeyId", keyId);
            }

            if (root.TryGetProperty("Recipient", out _))
            {
                var spki = EncryptTo ?? SpkiOf(DocumentOf(request));
                writer.WriteString("CiphertextForRecipient", RecipientCiphertext ?? Convert.ToBase64String(CmsFixtures.Encrypt(Plaintext, spki)));
            }

            writer.WriteEndObject();
        }

        return Task.FromResult(new KmsReply(200, buffer.WrittenSpan.ToArray(), "application/x-amz-json-1.1"));
    }

    private static string Resolve(string keyId) =>
        keyId.StartsWith("arn:", StringComparison.Ordinal) && keyId.Contains(":key/", StringComparison.Ordinal) ? keyId
        : keyId.StartsWith("arn:", StringComparison.Ordinal) || keyId.StartsWith("alias/", StringComparison.Ordinal) ? KeyArn
        : $"arn:aws:kms:{Region}:{Account}:key/{keyId}";
}
