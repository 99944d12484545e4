using System.Buffers;
using System.Text;
using System.Text.Json;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;

namespace Cloister.Encryption.Tests;

/// <summary>JSON round trips through <see cref="JsonLeafCipher"/>, and a comparison that sees order and number text.</summary>
internal static class JsonDocuments
{
    public static string Encrypt(LeafEncryptor encryptor, string json, LeafSelection leaves = LeafSelection.Strings)
    {
        var output = new ArrayBufferWriter<byte>();
        JsonLeafCipher.Encrypt(Encoding.UTF8.GetBytes(json), encryptor, leaves, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    public static string Encrypt(DeploymentKeyRing ring, string json, LeafSelection leaves = LeafSelection.Strings)
    {
        using var encryptor = ring.CurrentPublicKey.CreateEncryptor();
        return Encrypt(encryptor, json, leaves);
    }

    public static string Decrypt(DeploymentKeyRing ring, string json) => Decrypt(ring, Encoding.UTF8.GetBytes(json));

    public static string Decrypt(DeploymentKeyRing ring, byte[] json)
    {
        using var decryptor = ring.CreateDecryptor();
        var output = new ArrayBufferWriter<byte>();
        JsonLeafCipher.Decrypt(json, decryptor, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>Equal values, the same property order, and numbers with the same text.</summary>
    public static void AssertSameDocument(string expected, string actual)
    {
        using var left = JsonDocument.Parse(expected);
        using var right = JsonDocument.Parse(actual);
        AssertSame(left.RootElement, right.RootElement, "$");
    }

    private static void AssertSame(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: {actual.ValueKind}, expected {expected.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedProperties = expected.EnumerateObject().ToList();
                var actualProperties = actual.EnumerateObject().ToList();
                Assert.Equal(expectedProperties.Select(p => p.Name), actualProperties.Select(p => p.Name));
                for (var i = 0; i < expectedProperties.Count; i++)
                {
                    AssertSame(expectedProperties[i].Value, actualProperties[i].Value, $"{path}.{expectedProperties[i].Name}");
                }

                break;
            case JsonValueKind.Array:
                Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
                for (var i = 0; i < expected.GetArrayLength(); i++)
                {
                    AssertSame(expected[i], actual[i], $"{path}[{i}]");
                }

                break;
            case JsonValueKind.String:
                Assert.Equal(expected.GetString(), actual.GetString());
                break;
            default:
                Assert.Equal(expected.GetRawText(), actual.GetRawText());
                break;
        }
    }
}
