using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Cloister.Kms.Recipients;
using Cloister.Testing;

namespace Cloister.Kms.Tests;

/// <summary>
/// Recipient ciphertexts for tests: KMS's published vector (BER, indefinite lengths) and DER ones the BCL's EnvelopedCms
/// writes, addressed as KMS addresses them (subjectKeyIdentifier = SHA-256 of the recipient's SubjectPublicKeyInfo).
/// </summary>
internal static class CmsFixtures
{
    public const string Aes256Cbc = "2.16.840.1.101.3.4.1.42";
    public const string Aes128Cbc = "2.16.840.1.101.3.4.1.2";
    public const string DataOid = "1.2.840.113549.1.7.1";

    // Signs the throwaway certificates EnvelopedCms needs to name a recipient; generated once, RSA keygen is slow.
    private static readonly Lazy<RSA> s_issuer = new(() => RSA.Create(2048));

    public static byte[] VectorCiphertext => File.ReadAllBytes(RepositoryPaths.Vector("kms", "enclaver_ciphertext-for-recipient.ber"));

    public static byte[] VectorPlaintext => File.ReadAllBytes(RepositoryPaths.Vector("kms", "enclaver_expected-plaintext.txt"));

    /// <summary>The vector's RSA-2048 key, to which its ciphertext is addressed.</summary>
    public static RecipientKey VectorKey()
    {
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(File.ReadAllBytes(RepositoryPaths.Vector("kms", "enclaver_recipient-key.pkcs8.der")), out _);
        return new RecipientKey(rsa);
    }

    /// <summary>A DER ContentInfo/EnvelopedData with one recipient per public key, each named by SHA-256 of its SPKI.</summary>
    public static byte[] Encrypt(
        byte[] plaintext,
        IEnumerable<ReadOnlyMemory<byte>> recipients,
        RSAEncryptionPadding? padding = null,
        string contentEncryption = Aes256Cbc,
        string contentType = DataOid)
    {
        var envelope = new EnvelopedCms(new ContentInfo(new Oid(contentType), plaintext), new AlgorithmIdentifier(new Oid(contentEncryption)));
        var collection = new CmsRecipientCollection();
        foreach (var spki in recipients)
        {
            collection.Add(new CmsRecipient(SubjectIdentifierType.SubjectKeyIdentifier, Certificate(spki.Span), padding ?? RSAEncryptionPadding.OaepSHA256));
        }

        envelope.Encrypt(collection);
        return envelope.Encode();
    }

    /// <inheritdoc cref="Encrypt(byte[], IEnumerable{ReadOnlyMemory{byte}}, RSAEncryptionPadding?, string, string)"/>
    public static byte[] Encrypt(byte[] plaintext, ReadOnlyMemory<byte> recipient, RSAEncryptionPadding? padding = null, string contentEncryption = Aes256Cbc, string contentType = DataOid) =>
        Encrypt(plaintext, [recipient], padding, contentEncryption, contentType);

    private static X509Certificate2 Certificate(ReadOnlySpan<byte> spki)
    {
        using var publicKey = RSA.Create();
        publicKey.ImportSubjectPublicKeyInfo(spki, out _);
        var request = new CertificateRequest("CN=recipient", publicKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(SHA256.HashData(spki), critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.Create(
            new X500DistinguishedName("CN=issuer"),
            X509SignatureGenerator.CreateForRSA(s_issuer.Value, RSASignaturePadding.Pkcs1),
            now.AddHours(-1),
            now.AddHours(1),
            [1]);
    }
}
