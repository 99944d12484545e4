using System.Text.Json;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;

namespace Cloister.Encryption.Tests;

/// <summary>Encrypting a document's leaves keeps its shape, and decrypting gives back the same document.</summary>
public sealed class JsonShapeTests
{
    private const string Shapes = """
        {
          "z": {"b": [1, "x", null, true, false, {}, [], [[]], {"deep": {"er": ["s"]}}]},
          "a": {},
          "m": [],
          "empty": "",
          "unicode": "h\u00e9llo \u2713 😀 \u00a0 日本",
          "escaped": "line\nquote\"back\\slash\u0001tab\t\/ <&>'",
          "esc\u00e9 key \"q\"": "v",
          "cl:not-a-key": "cl",
          "null": null,
          "n": -12.50e+3
        }
        """;

    [Theory]
    [InlineData(LeafSelection.Strings)]
    [InlineData(LeafSelection.All)]
    public void A_document_round_trips_with_its_shape_keys_and_order(LeafSelection leaves)
    {
        using var ring = TestKeys.NewRing();
        var encrypted = JsonDocuments.Encrypt(ring, Shapes, leaves);
        JsonDocuments.AssertSameDocument(Shapes, JsonDocuments.Decrypt(ring, encrypted));
    }

    [Fact]
    public void Only_the_selected_leaves_become_ciphertexts_and_keys_stay_plain()
    {
        using var ring = TestKeys.NewRing();
        using var encrypted = JsonDocument.Parse(JsonDocuments.Encrypt(ring, Shapes));
        var root = encrypted.RootElement;
        Assert.Equal(
            ["z", "a", "m", "empty", "unicode", "escaped", "esc\u00e9 key \"q\"", "cl:not-a-key", "null", "n"],
            root.EnumerateObject().Select(p => p.Name));
        foreach (var name in new[] { "empty", "unicode", "escaped", "cl:not-a-key" })
        {
            Assert.StartsWith("cl:", root.GetProperty(name).GetString(), StringComparison.Ordinal);
        }

        var array = root.GetProperty("z").GetProperty("b");
        Assert.Equal("1", array[0].GetRawText());
        Assert.StartsWith("cl:", array[1].GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, array[2].ValueKind);
        Assert.Equal(JsonValueKind.True, array[3].ValueKind);
        Assert.Equal("{}", array[5].GetRawText());
        Assert.Equal("[[]]", array[7].GetRawText());
        Assert.Equal("-12.50e+3", root.GetProperty("n").GetRawText());
        Assert.DoesNotContain("llo", encrypted.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_compact_ascii_document_comes_back_byte_for_byte()
    {
        const string Compact = """{"a":[1,2.0,-0,"x",{"b":null,"c":[]}],"d":"card 4111","e":true}""";
        using var ring = TestKeys.NewRing();
        Assert.Equal(Compact, JsonDocuments.Decrypt(ring, JsonDocuments.Encrypt(ring, Compact, LeafSelection.All)));
        Assert.Equal(Compact, JsonDocuments.Decrypt(ring, JsonDocuments.Encrypt(ring, Compact)));
    }

    [Fact]
    public void Data_key_and_public_key_ciphertexts_mix_with_plaintext_in_one_document()
    {
        using var ring = TestKeys.NewRing();
        using var dataKey = ring.CreateEncryptor();
        using var publicKey = ring.CurrentPublicKey.CreateEncryptor();
        var mixed = $$"""
            {"inside":"{{dataKey.EncryptToString("from the enclave"u8, PlaintextKind.String)}}",
             "outside":"{{publicKey.EncryptToString("from a client"u8, PlaintextKind.String)}}",
             "count":"{{publicKey.EncryptToString("42"u8, PlaintextKind.Number)}}",
             "flag":"{{dataKey.EncryptToString("false"u8, PlaintextKind.Boolean)}}",
             "plain":"left alone","clue":"cl","n":7}
            """;
        Assert.Equal(
            """{"inside":"from the enclave","outside":"from a client","count":42,"flag":false,"plain":"left alone","clue":"cl","n":7}""",
            JsonDocuments.Decrypt(ring, mixed));
    }

    [Theory]
    [InlineData("\"secret\"", LeafSelection.Strings, "\"secret\"")]
    [InlineData("42", LeafSelection.All, "42")]
    [InlineData("42", LeafSelection.Strings, "42")]
    [InlineData("true", LeafSelection.All, "true")]
    [InlineData("false", LeafSelection.All, "false")]
    [InlineData("null", LeafSelection.All, "null")]
    [InlineData("  \"padded\"  \n", LeafSelection.Strings, "\"padded\"")]
    [InlineData("[]", LeafSelection.All, "[]")]
    [InlineData("{}", LeafSelection.All, "{}")]
    public void Top_level_scalars_and_empty_containers_round_trip(string json, LeafSelection leaves, string expected)
    {
        using var ring = TestKeys.NewRing();
        var encrypted = JsonDocuments.Encrypt(ring, json, leaves);
        var encryptsTopLevel = json.TrimStart().StartsWith('"') || (leaves == LeafSelection.All && json is "42" or "true" or "false");
        Assert.Equal(encryptsTopLevel, encrypted.StartsWith("\"cl:", StringComparison.Ordinal));
        Assert.Equal(expected, JsonDocuments.Decrypt(ring, encrypted));
    }

    [Fact]
    public void Sixty_four_levels_round_trip()
    {
        var json = new string('[', 63) + "{\"a\":\"deep\"}" + new string(']', 63);
        using var ring = TestKeys.NewRing();
        Assert.Equal(json, JsonDocuments.Decrypt(ring, JsonDocuments.Encrypt(ring, json)));
    }
}
