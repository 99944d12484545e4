using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>The public key file that <c>cloister keys show --output</c> writes and <c>cloister encrypt --public-key</c> reads.</summary>
public sealed class DeploymentPublicKeyFileTests
{
    [Fact]
    public void The_file_round_trips_and_encrypts_for_the_ring()
    {
        using var ring = TestKeys.NewRing();
        var key = ring.CurrentPublicKey;
        var file = key.ToJson();
        Assert.Equal((byte)'\n', file[^1]);

        var read = DeploymentPublicKey.Parse(file);
        Assert.Equal(key.Deployment, read.Deployment);
        Assert.Equal(key.KeyId, read.KeyId);
        Assert.Equal(key.Version, read.Version);
        Assert.Equal(key.Fingerprint, read.Fingerprint);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), read.ExportSubjectPublicKeyInfo());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo())), read.Fingerprint);
        Assert.Equal(key.ToPem(), read.ToPem());
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", read.ToPem(), StringComparison.Ordinal);

        using var encryptor = read.CreateEncryptor();
        using var decryptor = ring.CreateDecryptor();
        Assert.Equal("4111"u8.ToArray(), decryptor.Decrypt(encryptor.Encrypt("4111"u8, PlaintextKind.String), out _));
    }

    [Fact]
    public void The_file_has_exactly_the_documented_fields()
    {
        using var ring = TestKeys.NewRing("phones");
        var file = JsonNode.Parse(ring.CurrentPublicKey.ToJson())!.AsObject();
        Assert.Equal(["deployment", "key_id", "version", "public_key", "fingerprint"], file.Select(p => p.Key));
        Assert.Equal("phones", (string?)file["deployment"]);
        Assert.Equal(ring.KeyId.ToString(), (string?)file["key_id"]);
        Assert.Matches("^[0-9a-f]{16}$", (string?)file["key_id"]);
        Assert.Equal(1, (int?)file["version"]);
        Assert.Matches("^[0-9a-f]{64}$", (string?)file["fingerprint"]);
    }

    [Fact]
    public void Without_a_fingerprint_the_file_is_read_and_with_an_upper_case_one_too()
    {
        using var ring = TestKeys.NewRing();
        var key = ring.CurrentPublicKey;
        Assert.Equal(key.Fingerprint, DeploymentPublicKey.Parse(Edit(key, file => file.Remove("fingerprint"))).Fingerprint);
        Assert.Equal(key.Fingerprint, DeploymentPublicKey.Parse(Edit(key, file => file["fingerprint"] = key.Fingerprint.ToUpperInvariant())).Fingerprint);
    }

    [Theory]
    [InlineData("unknown", "unknown field 'comment'")]
    [InlineData("fingerprint", "is not that of its public_key")]
    [InlineData("p256", "not a P-384")]
    [InlineData("rsa", "does not parse")]
    [InlineData("garbage-key", "not a base64 string")]
    [InlineData("trailing-der", "not a P-384")]
    [InlineData("version0", "'version' is missing or below 1")]
    [InlineData("version-negative", "'version' is missing or below 1")]
    [InlineData("version-text", "'version' is not a whole number")]
    [InlineData("version-fraction", "'version' is not a whole number")]
    [InlineData("version-huge", "'version' is not a whole number")]
    [InlineData("no-deployment", "'deployment' is missing")]
    [InlineData("empty-deployment", "'deployment' is missing")]
    [InlineData("long-deployment", "255 UTF-8 bytes")]
    [InlineData("no-key-id", "'key_id' is missing")]
    [InlineData("short-key-id", "16 hex digits")]
    [InlineData("hex-prefix-key-id", "16 hex digits")]
    [InlineData("no-version", "'version' is missing")]
    [InlineData("no-public-key", "'public_key' is missing")]
    [InlineData("deployment-number", "not the expected JSON")]
    [InlineData("fingerprint-object", "not the expected JSON")]
    public void A_file_with_a_wrong_field_names_it(string fault, string message)
    {
        using var ring = TestKeys.NewRing();
        var key = ring.CurrentPublicKey;
        var file = Edit(key, json =>
        {
            switch (fault)
            {
                case "unknown": json["comment"] = "hi"; break;
                case "fingerprint": json["fingerprint"] = new string('0', 64); break;
                case "p256": json["public_key"] = Convert.ToBase64String(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256).ExportSubjectPublicKeyInfo()); break;
                case "rsa": json["public_key"] = Convert.ToBase64String([0x30, 0x03, 0x02, 0x01, 0x00]); break;
                case "garbage-key": json["public_key"] = "not base64!"; break;
                case "trailing-der": json["public_key"] = Convert.ToBase64String([.. key.ExportSubjectPublicKeyInfo(), 0]); json.Remove("fingerprint"); break;
                case "version0": json["version"] = 0; break;
                case "version-negative": json["version"] = -1; break;
                case "version-text": json["version"] = "1"; break;
                case "version-fraction": json["version"] = 1.5; break;
                case "version-huge": json["version"] = 1L << 40; break;
                case "no-deployment": json.Remove("deployment"); break;
                case "empty-deployment": json["deployment"] = ""; break;
                case "long-deployment": json["deployment"] = new string('d', 256); break;
                case "no-key-id": json.Remove("key_id"); break;
                case "short-key-id": json["key_id"] = "abc"; break;
                case "hex-prefix-key-id": json["key_id"] = "0x" + key.KeyId.ToString()[2..]; break;
                case "no-version": json.Remove("version"); break;
                case "no-public-key": json.Remove("public_key"); break;
                case "deployment-number": json["deployment"] = 5; break;
                case "fingerprint-object": json["fingerprint"] = new JsonObject(); break;
            }
        });
        var ex = Assert.Throws<FormatException>(() => DeploymentPublicKey.Parse(file));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("\"key\"")]
    [InlineData("{")]
    [InlineData("{\"deployment\":\"a\"")]
    [InlineData("{}{}")]
    [InlineData("{\"deployment\":{\"a\":{\"b\":1}}}")]
    public void Text_that_is_not_one_json_object_is_a_format_error(string text)
    {
        Assert.Throws<FormatException>(() => DeploymentPublicKey.Parse(Encoding.UTF8.GetBytes(text)));
    }

    [Fact]
    public void A_file_over_16_kib_is_refused_before_it_is_read()
    {
        using var ring = TestKeys.NewRing();
        var file = ring.CurrentPublicKey.ToJson();
        var padded = new byte[DeploymentPublicKey.MaxJsonLength + 1];
        padded.AsSpan().Fill((byte)' ');
        file.CopyTo(padded, 0);
        var ex = Assert.Throws<FormatException>(() => DeploymentPublicKey.Parse(padded));
        Assert.Contains("at most 16384 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Equal(ring.CurrentPublicKey.Fingerprint, DeploymentPublicKey.Parse(padded.AsSpan(0, DeploymentPublicKey.MaxJsonLength)).Fingerprint);
    }

    [Fact]
    public void The_constructor_refuses_version_0_and_a_p256_key()
    {
        using var ring = TestKeys.NewRing();
        var spki = ring.CurrentPublicKey.ExportSubjectPublicKeyInfo();
        Assert.Throws<ArgumentOutOfRangeException>(() => new DeploymentPublicKey("cards", ring.KeyId, 0, spki));
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.Throws<FormatException>(() => new DeploymentPublicKey("cards", ring.KeyId, 1, p256.ExportSubjectPublicKeyInfo()));
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Equal(64, new DeploymentPublicKey("cards", ring.KeyId, 1, ecdsa.ExportSubjectPublicKeyInfo()).Fingerprint.Length);
    }

    private static byte[] Edit(DeploymentPublicKey key, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(key.ToJson())!.AsObject();
        edit(json);
        return Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
