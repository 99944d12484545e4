using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// What an enclave's <c>/decrypt</c> reads: the input as one binary ciphertext (<c>application/octet-stream</c>) and as
/// a JSON document of ciphertext strings. The ring is made from constants, with versions 1 and 2, so the committed
/// seeds (made with the same keys) decrypt and mutations reach the authentication and the JSON writer behind it.
/// </summary>
internal sealed class CiphertextDecryptTarget : FuzzTarget
{
    private const string Deployment = "fuzz";
    private static readonly DeploymentKeyId KeyId = new(0x0c1015e2f022a001UL);

    // Lazy: the constructor must not touch the instrumented Cloister.Encryption.
    private readonly Lazy<DeploymentKeyRing> _ring = new(() => Ring(2, 1, 2));

    public override string Name => "ciphertext-decrypt";

    public override string Summary => "LeafDecryptor.Decrypt (the input as a ciphertext) and JsonLeafCipher.Decrypt (as a JSON document)";

    public override void Run(byte[] input)
    {
        using var decryptor = _ring.Value.CreateDecryptor();
        try
        {
            _ = decryptor.Decrypt(input, out _);
        }
        catch (CiphertextException)
        {
        }

        try
        {
            JsonLeafCipher.Decrypt(input, decryptor, new ArrayBufferWriter<byte>());
        }
        catch (CiphertextException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        using var old = Ring(1, 1);
        using var current = Ring(2, 1, 2);
        var seeds = new List<Seed>();
        foreach (var (name, ring) in new[] { ("v1", old), ("v2", current) })
        {
            using var dataKey = ring.CreateEncryptor();
            using var publicKey = ring.CurrentPublicKey.CreateEncryptor();
            foreach (var (algorithm, encryptor) in new[] { ("data-key", dataKey), ("public-key", publicKey) })
            {
                seeds.Add(new($"{name}-{algorithm}-bytes.bin", encryptor.Encrypt("{\"whole\":\"body\"}"u8, PlaintextKind.Bytes)));
                seeds.Add(new($"{name}-{algorithm}-string.bin", encryptor.Encrypt("4111 1111 1111 1111"u8, PlaintextKind.String)));
                seeds.Add(new($"{name}-{algorithm}-empty.bin", encryptor.Encrypt([], PlaintextKind.String)));
                seeds.Add(new($"{name}-{algorithm}-leaves.json", Json(encryptor, LeafSelection.All)));
            }

            seeds.Add(new($"{name}-mixed.json", Encoding.UTF8.GetBytes($$"""
                {"a":"{{dataKey.EncryptToString("x"u8, PlaintextKind.String)}}","b":["plain",null,1.5e3,"{{publicKey.EncryptToString("-0"u8, PlaintextKind.Number)}}"],"c":"{{dataKey.EncryptToString("true"u8, PlaintextKind.Boolean)}}"}
                """)));
        }

        seeds.Add(new("plain.json", """{"a":"\u00e9\n","b":[{},[],""],"cl":"cl"}"""u8.ToArray()));
        return seeds;
    }

    private static byte[] Json(LeafEncryptor encryptor, LeafSelection leaves)
    {
        var output = new ArrayBufferWriter<byte>();
        JsonLeafCipher.Encrypt("""{"card":{"number":"4111 1111 1111 1111","cvc":123,"ok":true,"none":null},"tags":["a","\u00e9",2.50,[]]}"""u8, encryptor, leaves, output);
        return output.WrittenSpan.ToArray();
    }

    // Keys from constants: version v's private scalar is SHA-384 of a label (far below the curve's order), its data
    // key SHA-256 of another.
    private static DeploymentKeyRing Ring(int current, params int[] versions) =>
        new(Deployment, KeyId, [.. versions.Select(Key)], current);

    private static DeploymentKey Key(int version)
    {
        using var agreement = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP384,
            D = SHA384.HashData(Encoding.ASCII.GetBytes($"cloister fuzz private key {version}")),
        });
        return DeploymentKey.Import(version, agreement.ExportPkcs8PrivateKey(), SHA256.HashData(Encoding.ASCII.GetBytes($"cloister fuzz data key {version}")));
    }
}
