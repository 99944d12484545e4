using System.Text.Json;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;

namespace Cloister.Encryption.Tests;

/// <summary><see cref="LeafSelection.All"/>: numbers and booleans become ciphertexts and come back exactly as written.</summary>
public sealed class JsonLeafKindTests
{
    [Theory]
    [InlineData("1.50")]
    [InlineData("-0")]
    [InlineData("1e400")]
    [InlineData("-1E-400")]
    [InlineData("0.1e-5")]
    [InlineData("12345678901234567890123456789")]
    [InlineData("3.141592653589793238462643383279")]
    [InlineData("0")]
    [InlineData("-7")]
    public void Numbers_come_back_with_their_text(string number)
    {
        using var ring = TestKeys.NewRing();
        var json = $$"""{"n":{{number}},"a":[{{number}}]}""";
        var encrypted = JsonDocuments.Encrypt(ring, json, LeafSelection.All);
        Assert.DoesNotContain($":{number}", encrypted, StringComparison.Ordinal);
        Assert.DoesNotContain($"[{number}]", encrypted, StringComparison.Ordinal);
        using (var document = JsonDocument.Parse(encrypted))
        {
            Assert.Equal(JsonValueKind.String, document.RootElement.GetProperty("n").ValueKind);
        }

        Assert.Equal(json, JsonDocuments.Decrypt(ring, encrypted));
    }

    [Fact]
    public void Booleans_come_back_as_booleans_and_nulls_stay_plain()
    {
        using var ring = TestKeys.NewRing();
        const string Json = """{"t":true,"f":false,"n":null}""";
        var encrypted = JsonDocuments.Encrypt(ring, Json, LeafSelection.All);
        Assert.DoesNotContain("true", encrypted, StringComparison.Ordinal);
        Assert.DoesNotContain("false", encrypted, StringComparison.Ordinal);
        Assert.EndsWith("\"n\":null}", encrypted, StringComparison.Ordinal);
        Assert.Equal(Json, JsonDocuments.Decrypt(ring, encrypted));
    }

    [Fact]
    public void With_strings_selected_numbers_and_booleans_stay_plain_and_exact()
    {
        using var ring = TestKeys.NewRing();
        const string Json = """[1.50,-0,1e400,true,false,null]""";
        Assert.Equal(Json, JsonDocuments.Encrypt(ring, Json));
    }

    [Theory]
    [InlineData(PlaintextKind.Number, "12abc")]
    [InlineData(PlaintextKind.Number, "")]
    [InlineData(PlaintextKind.Number, "1 2")]
    [InlineData(PlaintextKind.Number, "\"1\"")]
    [InlineData(PlaintextKind.Boolean, "yes")]
    [InlineData(PlaintextKind.Boolean, "TRUE")]
    [InlineData(PlaintextKind.Bytes, "whole body")]
    public void A_ciphertext_whose_kind_its_plaintext_does_not_fit_is_the_wrong_form(PlaintextKind kind, string plaintext)
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CreateEncryptor();
        var json = $$"""{"a":"x","b":"{{encryptor.EncryptToString(System.Text.Encoding.UTF8.GetBytes(plaintext), kind)}}"}""";
        var ex = Assert.Throws<CiphertextException>(() => JsonDocuments.Decrypt(ring, json));
        Assert.Equal(CiphertextFailure.WrongForm, ex.Failure);
        Assert.Contains("at byte 13", ex.Message, StringComparison.Ordinal);
        if (plaintext.Length > 0)
        {
            Assert.DoesNotContain(plaintext, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_string_kind_that_is_not_utf8_is_the_wrong_form()
    {
        using var ring = TestKeys.NewRing();
        using var encryptor = ring.CreateEncryptor();
        var json = $"[\"{encryptor.EncryptToString([0x41, 0xff, 0x42], PlaintextKind.String)}\"]";
        Assert.Equal(CiphertextFailure.WrongForm, Assert.Throws<CiphertextException>(() => JsonDocuments.Decrypt(ring, json)).Failure);
    }
}
