using System.Text;
using Cloister.Fuzz.Harness;
using Cloister.Kms.Proxy;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// What the app inside the enclave sends the KMS proxy: the input's first line is the <c>X-Amz-Target</c> header, the
/// rest the JSON body. A request the policy admits is then rewritten with a <c>Recipient</c>, as the proxy forwards it.
/// </summary>
internal sealed class KmsProxyRequestTarget : FuzzTarget
{
    private const string Key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    // Lazy: the constructor must not touch the instrumented Cloister.Kms.
    private readonly Lazy<KmsProxyPolicy> _policy = new(() => new KmsProxyPolicy(
        "us-east-1", ["Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom", "ReEncrypt", "ListKeys"], [Key, "alias/fuzz"]));

    public override string Name => "kms-proxy-request";

    public override string Summary => "KmsRequest.Parse and WithRecipient (first line: X-Amz-Target; the rest: the JSON body)";

    public override void Run(byte[] input)
    {
        var newline = Array.IndexOf(input, (byte)'\n');
        var target = newline < 0 ? null : Encoding.UTF8.GetString(input, 0, newline);
        var body = newline < 0 ? input : input.AsMemory(newline + 1);
        try
        {
            var request = KmsRequest.Parse(target, body, _policy.Value);
            if (KmsRequest.RecipientActions.ContainsKey(request.Action))
            {
                _ = request.WithRecipient("ZG9jdW1lbnQ=");
            }
        }
        catch (KmsProxyException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        Seed("decrypt.bin", "TrentService.Decrypt", $$$"""{"CiphertextBlob":"AQID","KeyId":"{{{Key}}}","EncryptionContext":{"purpose":"a"}}"""),
        Seed("data-key.bin", "TrentService.GenerateDataKey", """{"KeyId":"alias/fuzz","KeySpec":"AES_256"}"""),
        Seed("key-pair.bin", "TrentService.GenerateDataKeyPair", $$"""{"KeyId":"{{Key}}","KeyPairSpec":"ECC_NIST_P256"}"""),
        Seed("random.bin", "TrentService.GenerateRandom", """{"NumberOfBytes":32}"""),
        Seed("re-encrypt.bin", "TrentService.ReEncrypt", $$"""{"CiphertextBlob":"AQID","SourceKeyId":"{{Key}}","DestinationKeyId":"alias/fuzz"}"""),
        Seed("escaped.bin", "TrentService.Decrypt", $$"""{"Key\u0049d":"{{Key}}","CiphertextBlob":"AQID"}"""),
        Seed("recipient.bin", "TrentService.Decrypt", $$$"""{"KeyId":"{{{Key}}}","Recipient":{"AttestationDocument":"AA=="}}"""),
    ];

    private static Seed Seed(string name, string target, string body) => new(name, Encoding.UTF8.GetBytes($"{target}\n{body}"));
}
