using System.Security.Cryptography;
using Cloister.Fuzz.Harness;
using Cloister.Kms.Recipients;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// What the KMS proxy reads from KMS's answer: <c>CiphertextForRecipient</c>, a CMS EnvelopedData in BER. The key is
/// the Enclaver vector's (tests/vectors/kms), so the vector seed decrypts and mutations reach the RSA-OAEP unwrap,
/// the AES-CBC content and its padding behind the structure checks.
/// </summary>
internal sealed class KmsRecipientCiphertextTarget : FuzzTarget
{
    private const string Vectors = "tests/vectors/kms";

    // Lazy: the constructor must not touch the instrumented Cloister.Kms.
    private readonly Lazy<RecipientKey> _key = new(() =>
    {
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(SeedSources.Locate(AppContext.BaseDirectory).File($"{Vectors}/enclaver_recipient-key.pkcs8.der"), out _);
        return new RecipientKey(rsa);
    });

    public override string Name => "kms-recipient-ciphertext";

    public override string Summary => "RecipientKey.Decrypt (KMS's CiphertextForRecipient, CMS EnvelopedData in BER)";

    public override void Run(byte[] input)
    {
        try
        {
            _ = _key.Value.Decrypt(input);
        }
        catch (RecipientCiphertextException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) => [sources.FileSeed($"{Vectors}/enclaver_ciphertext-for-recipient.ber")];
}
