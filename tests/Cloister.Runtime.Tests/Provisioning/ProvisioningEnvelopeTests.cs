using System.Security.Cryptography;
using Cloister.Runtime.Provisioning;

namespace Cloister.Runtime.Tests.Provisioning;

public sealed class ProvisioningEnvelopeTests
{
    private static readonly byte[] s_tokenHash = SHA384.HashData("token"u8);

    [Fact]
    public void Only_the_recipient_with_the_same_associated_data_opens_it()
    {
        using var enclave = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        using var other = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var secret = "DATABASE_PASSWORD=hunter2"u8.ToArray();

        var envelope = ProvisioningEnvelope.Seal(secret, enclave.ExportSubjectPublicKeyInfo(), s_tokenHash);

        Assert.Equal(secret.Length + ProvisioningEnvelope.Overhead, envelope.Length);
        Assert.Equal(-1, envelope.AsSpan().IndexOf("hunter2"u8));
        Assert.Equal(secret, ProvisioningEnvelope.Open(envelope, enclave, s_tokenHash));
        Assert.ThrowsAny<CryptographicException>(() => ProvisioningEnvelope.Open(envelope, other, s_tokenHash));
        Assert.ThrowsAny<CryptographicException>(() => ProvisioningEnvelope.Open(envelope, enclave, SHA384.HashData("another token"u8)));
    }

    [Fact]
    public void Two_seals_of_the_same_answer_differ()
    {
        using var enclave = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var recipient = enclave.ExportSubjectPublicKeyInfo();

        Assert.NotEqual(ProvisioningEnvelope.Seal("same"u8, recipient, s_tokenHash), ProvisioningEnvelope.Seal("same"u8, recipient, s_tokenHash));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(4 + 97)]
    [InlineData(4 + 97 + 12)]
    [InlineData(-1)]
    public void A_changed_byte_anywhere_is_refused(int index)
    {
        using var enclave = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var envelope = ProvisioningEnvelope.Seal("secret"u8, enclave.ExportSubjectPublicKeyInfo(), s_tokenHash);
        envelope[index < 0 ? envelope.Length + index : index] ^= 0x01;

        var error = Record.Exception(() => ProvisioningEnvelope.Open(envelope, enclave, s_tokenHash));

        Assert.True(error is FormatException or CryptographicException, $"{error?.GetType().Name}: {error?.Message}");
    }

    [Fact]
    public void A_short_envelope_is_not_an_envelope()
    {
        using var enclave = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);

        Assert.Throws<FormatException>(() => ProvisioningEnvelope.Open("CLP1"u8, enclave, s_tokenHash));
    }

    [Fact]
    public void A_recipient_key_that_is_not_P384_is_refused()
    {
        using var p256 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);

        Assert.Throws<FormatException>(() => ProvisioningEnvelope.Seal("x"u8, p256.ExportSubjectPublicKeyInfo(), s_tokenHash));
        Assert.Throws<FormatException>(() => ProvisioningEnvelope.Seal("x"u8, rsa.ExportSubjectPublicKeyInfo(), s_tokenHash));
        Assert.Throws<FormatException>(() => ProvisioningEnvelope.Seal("x"u8, [0x30, 0x00], s_tokenHash));
    }
}
