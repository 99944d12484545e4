using Cloister.Attestation.Documents;
using Cloister.Attestation.Tests.Editing;
using Cloister.Attestation.Verification;

namespace Cloister.Attestation.Tests.Verification;

/// <summary>
/// Documents whose chain and signature are genuine but whose module_id is not what AWS writes: the signature does not
/// make them acceptable, and each is refused for its typed reason naming the field.
/// </summary>
public sealed class ModuleIdTests : IDisposable
{
    private static readonly DateTimeOffset s_now = TestPki.NotBefore.AddMinutes(2);
    private readonly TestPki _pki = TestPki.Create();

    [Fact]
    public void A_re_signed_document_with_an_aws_shaped_module_id_is_valid()
    {
        var result = Verify([.. "i-0f8ca0b3e1c5d4a7b-enc0193fd7c6b1d2e3f"u8]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal("i-0f8ca0b3e1c5d4a7b-enc0193fd7c6b1d2e3f", result.Document!.Document.ModuleId);
    }

    public static TheoryData<byte[]> UnprintableModuleIds => new()
    {
        { [.. "i-0abc"u8, 0xFF, 0xFE] },
        { [.. "a\0b\nc\u001b[31m"u8] },
        { [.. "i-0\u009b31m"u8] },
    };

    [Theory]
    [MemberData(nameof(UnprintableModuleIds))]
    public void A_signed_module_id_that_is_not_printable_ascii_is_malformed(byte[] moduleId)
    {
        var result = Verify(moduleId);

        Assert.Equal(AttestationFailure.Malformed, result.Failure);
        Assert.StartsWith("payload.module_id: character ", result.Detail, StringComparison.Ordinal);
        Assert.Null(result.Document);
    }

    [Fact]
    public void A_signed_module_id_of_a_megabyte_is_too_large()
    {
        var result = Verify([.. Enumerable.Repeat((byte)'i', 1 << 20)]);

        Assert.Equal(AttestationFailure.FieldTooLarge, result.Failure);
        Assert.StartsWith($"payload.module_id: {1 << 20} exceeds the limit of {AttestationDocumentDecoder.MaxModuleIdLength}", result.Detail, StringComparison.Ordinal);
    }

    public void Dispose() => _pki.Dispose();

    private AttestationVerificationResult Verify(byte[] moduleId)
    {
        var payload = CoseEdit.Of(_pki.Sign()).SetRawText("module_id", moduleId).Payload();
        return Verifiers.At(s_now, _pki.Root).Verify(_pki.Sign(payload));
    }
}
