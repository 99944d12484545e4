using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Cloister.Client.Encryption;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;

namespace Cloister.Client.Tests.Encryption;

/// <summary>What a service encrypts with <see cref="Encryptor"/> outside, the deployment's key ring decrypts inside.</summary>
public sealed class EncryptorTests : IDisposable
{
    // Where a public-key ciphertext carries the sender's ephemeral point (docs/encryption.md): after the 15-byte fixed header.
    private static readonly Range s_senderPoint = 15..112;

    private readonly DeploymentKeyRing _ring = new("cards", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-encryptor-").FullName;

    public void Dispose()
    {
        _ring.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void A_string_decrypts_inside_to_the_same_string()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);

        var ciphertext = encryptor.EncryptString("4111 1111 1111 1111 é");

        Assert.StartsWith("cl:", ciphertext, StringComparison.Ordinal);
        using var decryptor = _ring.CreateDecryptor();
        Assert.Equal("4111 1111 1111 1111 é", Encoding.UTF8.GetString(decryptor.DecryptString(ciphertext, out var kind)));
        Assert.Equal(PlaintextKind.String, kind);
    }

    [Fact]
    public void A_string_that_is_not_unicode_text_is_refused()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);

        var ex = Assert.Throws<ArgumentException>(() => encryptor.EncryptString("lone \ud800 surrogate"));

        Assert.Equal("value", ex.ParamName);
    }

    [Fact]
    public void Bytes_are_encrypted_whole_and_decrypt_inside_as_bytes()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);
        byte[] plaintext = [0, 1, 2, 0xff, .. "binary"u8];

        var ciphertext = encryptor.Encrypt(plaintext);

        Assert.Equal(plaintext.Length + 140, ciphertext.Length);
        using var decryptor = _ring.CreateDecryptor();
        Assert.Equal(plaintext, decryptor.Decrypt(ciphertext, out var kind));
        Assert.Equal(PlaintextKind.Bytes, kind);
    }

    [Theory]
    [InlineData(LeafSelection.Strings, new[] { "4111", "\"a\\\"b\"" }, new[] { "123", "true" })]
    [InlineData(LeafSelection.All, new[] { "4111", "123", "true" }, new string[0])]
    public void A_documents_selected_leaves_become_ciphertexts_that_decrypt_to_the_document(LeafSelection leaves, string[] hidden, string[] kept)
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);
        var json = """{"card":{"number":"4111","cvc":123,"ok":true,"none":null},"quote":"a\"b"}"""u8;

        var encrypted = Encoding.UTF8.GetString(encryptor.EncryptJson(json, leaves));

        Assert.All(hidden, value => Assert.DoesNotContain(value, encrypted, StringComparison.Ordinal));
        Assert.All(kept, value => Assert.Contains(value, encrypted, StringComparison.Ordinal));
        Assert.Contains("\"none\":null", encrypted, StringComparison.Ordinal);
        // The same values, though the writer escapes the quote as \u0022.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(Decrypt(Encoding.UTF8.GetBytes(encrypted)))));
    }

    [Fact]
    public void A_serialized_value_has_its_strings_encrypted()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);

        var encrypted = encryptor.EncryptJson(new Card("4111", 12), TestJson.Default.Card);

        Assert.DoesNotContain("4111", Encoding.UTF8.GetString(encrypted), StringComparison.Ordinal);
        Assert.Equal("""{"number":"4111","month":12}""", Decrypt(encrypted));
    }

    [Fact]
    public void A_document_that_does_not_parse_is_refused_with_its_byte_offset()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);

        var ex = Assert.Throws<CiphertextException>(() => encryptor.EncryptJson("""{"a":"b",}"""u8));

        Assert.Equal(CiphertextFailure.InvalidJson, ex.Failure);
        Assert.Contains("at byte 9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_call_agrees_its_own_key_by_default()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey);

        var points = Enumerable.Range(0, 5).Select(_ => SenderPoint(encryptor.Encrypt("x"u8))).ToList();

        Assert.Equal(5, points.Distinct().Count());
    }

    [Fact]
    public void A_kept_key_serves_at_most_its_bound_of_values_and_a_larger_document_gets_its_own()
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey, new EncryptorOptions { MaxValuesPerKey = 4 });

        var points = Enumerable.Range(0, 10).Select(_ => SenderPoint(encryptor.Encrypt("x"u8))).ToList();
        // Ten bytes count as five possible leaves: more than a key may serve.
        var document = encryptor.EncryptJson("""["a","b"]"""u8);
        var afterDocument = SenderPoint(encryptor.Encrypt("y"u8));

        Assert.Equal([4, 4, 2], points.GroupBy(point => point).Select(group => group.Count()));
        Assert.Equal(points[^1], afterDocument);
        var documentPoint = SenderPoint(Bytes(Encoding.UTF8.GetString(document).Split('"')[1]));
        Assert.DoesNotContain(documentPoint, points);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    public void Concurrent_calls_each_decrypt_to_their_own_value_and_no_key_exceeds_its_bound(int maxValuesPerKey)
    {
        using var encryptor = new Encryptor(_ring.CurrentPublicKey, new EncryptorOptions { MaxValuesPerKey = maxValuesPerKey });
        var ciphertexts = new ConcurrentDictionary<int, string>();

        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => ciphertexts[i] = encryptor.EncryptString($"value {i}"));

        using var decryptor = _ring.CreateDecryptor();
        Assert.All(ciphertexts, pair => Assert.Equal($"value {pair.Key}", Encoding.UTF8.GetString(decryptor.DecryptString(pair.Value, out _))));
        var perKey = ciphertexts.Values.GroupBy(text => SenderPoint(Bytes(text))).Select(group => group.Count()).ToList();
        Assert.All(perKey, count => Assert.InRange(count, 1, maxValuesPerKey));
    }

    [Fact]
    public void A_ciphertext_made_with_an_older_key_version_still_decrypts_after_rotation()
    {
        var id = DeploymentKeyId.New();
        using var first = DeploymentKey.Generate(1);
        var oldKey = new DeploymentPublicKey("cards", id, 1, first.PublicKey);
        using var encryptor = new Encryptor(oldKey);
        var ciphertext = encryptor.EncryptString("before rotation");

        using var rotated = new DeploymentKeyRing("cards", id, [DeploymentKey.Import(1, first.ExportPrivateKey(), first.ExportDataKey()), DeploymentKey.Generate(2)], 2);

        using var decryptor = rotated.CreateDecryptor();
        Assert.Equal("before rotation", Encoding.UTF8.GetString(decryptor.DecryptString(ciphertext, out _)));
    }

    [Fact]
    public void A_key_file_loads_and_encrypts_for_its_deployment()
    {
        var path = Path.Combine(_directory, "cards.json");
        File.WriteAllBytes(path, _ring.CurrentPublicKey.ToJson());

        using var encryptor = Encryptor.FromFile(path);

        Assert.Equal("cards", encryptor.Deployment);
        Assert.Equal(_ring.CurrentPublicKey.Fingerprint, encryptor.PublicKey.Fingerprint);
        using var decryptor = _ring.CreateDecryptor();
        Assert.Equal("ok", Encoding.UTF8.GetString(decryptor.DecryptString(encryptor.EncryptString("ok"), out _)));
    }

    [Theory]
    [InlineData("deployment", "'deployment' is missing")]
    [InlineData("fingerprint", "is not that of its public_key")]
    [InlineData("public_key", "the public key is not a P-384 SubjectPublicKeyInfo")]
    [InlineData("extra", "unknown field 'extra'")]
    public void A_bad_key_file_is_refused_with_its_path_and_the_field_at_fault(string edit, string expected)
    {
        var json = Encoding.UTF8.GetString(_ring.CurrentPublicKey.ToJson());
        using var p256 = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var path = Path.Combine(_directory, "bad.json");
        File.WriteAllText(path, edit switch
        {
            "deployment" => json.Replace("\"deployment\": \"cards\",", "", StringComparison.Ordinal),
            "fingerprint" => json.Replace(_ring.CurrentPublicKey.Fingerprint, new string('0', 64), StringComparison.Ordinal),
            "public_key" => json.Replace(Convert.ToBase64String(_ring.CurrentPublicKey.ExportSubjectPublicKeyInfo()), Convert.ToBase64String(p256.ExportSubjectPublicKeyInfo()), StringComparison.Ordinal)
                .Replace(_ring.CurrentPublicKey.Fingerprint, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(p256.ExportSubjectPublicKeyInfo())), StringComparison.Ordinal),
            _ => json.Replace("{", "{\"extra\": 1,", StringComparison.Ordinal),
        });

        var ex = Assert.Throws<FormatException>(() => Encryptor.FromFile(path));

        Assert.StartsWith(path + ": ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_file_over_the_limit_is_refused_without_parsing()
    {
        var path = Path.Combine(_directory, "large.json");
        File.WriteAllBytes(path, new byte[DeploymentPublicKey.MaxJsonLength + 1]);

        var ex = Assert.Throws<FormatException>(() => Encryptor.FromFile(path));

        Assert.Equal($"{path}: a public key file is at most {DeploymentPublicKey.MaxJsonLength} bytes", ex.Message);
    }

    [Fact]
    public void A_missing_key_file_is_a_file_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => Encryptor.FromFile(Path.Combine(_directory, "absent.json")));
    }

    [Fact]
    public void A_disposed_encryptor_refuses_to_encrypt()
    {
        var encryptor = new Encryptor(_ring.CurrentPublicKey, new EncryptorOptions { MaxValuesPerKey = 8 });
        encryptor.EncryptString("kept key");

        encryptor.Dispose();

        Assert.Throws<ObjectDisposedException>(() => encryptor.EncryptString("after"));
    }

    [Fact]
    public void The_bound_is_at_least_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EncryptorOptions { MaxValuesPerKey = 0 });
    }

    private string Decrypt(ReadOnlySpan<byte> json)
    {
        var output = new ArrayBufferWriter<byte>();
        using var decryptor = _ring.CreateDecryptor();
        JsonLeafCipher.Decrypt(json, decryptor, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static byte[] Bytes(string ciphertext) => Base64Url.DecodeFromChars(ciphertext.AsSpan("cl:".Length));

    private static string SenderPoint(byte[] ciphertext) => Convert.ToHexString(ciphertext.AsSpan(s_senderPoint));
}

public sealed record Card(string Number, int Month);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Card))]
internal sealed partial class TestJson : JsonSerializerContext;
