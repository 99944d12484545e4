using System.Security.Cryptography;
using Cloister.Attestation.Certificates;

namespace Cloister.Attestation.Tests.Certificates;

public sealed class NonceHostNameTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(32)]
    [InlineData(NonceHostName.MaxNonceLength)]
    public void A_formatted_name_parses_back_to_its_nonce_and_host(int length)
    {
        var nonce = RandomNumberGenerator.GetBytes(length);

        var name = NonceHostName.Format(nonce, "api.example.com");

        Assert.True(name.Split('.')[0].Length <= 63);
        Assert.DoesNotContain('=', name);
        Assert.True(NonceHostName.TryParse(name, out var parsed, out var host));
        Assert.Equal(nonce, parsed);
        Assert.Equal("api.example.com", host);
    }

    [Fact]
    public void The_url_safe_alphabet_is_written()
    {
        Assert.Equal("-_8.attest.h", NonceHostName.Format([0xFB, 0xFF], "h"));
    }

    [Theory]
    [InlineData("::1", "--1")]
    [InlineData("[2001:db8::7]", "2001-db8--7")]
    public void An_ipv6_literal_host_becomes_a_name_without_colons(string host, string written)
    {
        var name = NonceHostName.Format([1, 2, 3], host);

        Assert.Equal("AQID.attest." + written, name);
        Assert.True(NonceHostName.TryParse(name, out var nonce, out _));
        Assert.Equal(new byte[] { 1, 2, 3 }, nonce);
    }

    [Theory]
    [InlineData("+/8=.attest.h")]
    [InlineData("+/8.attest.h")]
    [InlineData("-_8=.ATTEST.h")]
    public void Standard_base64_and_padding_are_accepted(string name)
    {
        Assert.True(NonceHostName.TryParse(name, out var nonce, out var host));
        Assert.Equal(new byte[] { 0xFB, 0xFF }, nonce);
        Assert.Equal("h", host);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("api.example.com")]
    [InlineData("attest.example.com")]
    [InlineData(".attest.example.com")]
    [InlineData("AAAA.attest.")]
    [InlineData("AAAA.attestx.example.com")]
    [InlineData("!!!!.attest.example.com")]
    [InlineData("A.attest.example.com")]
    public void Other_names_ask_for_no_nonce(string? name)
    {
        Assert.False(NonceHostName.TryParse(name, out var nonce, out var host));
        Assert.Null(nonce);
        Assert.Null(host);
    }

    [Fact]
    public void A_nonce_longer_than_one_label_is_refused_both_ways()
    {
        var tooLong = RandomNumberGenerator.GetBytes(NonceHostName.MaxNonceLength + 1);

        Assert.Throws<ArgumentException>(() => NonceHostName.Format(tooLong, "h"));
        Assert.Throws<ArgumentException>(() => NonceHostName.Format([], "h"));
        Assert.False(NonceHostName.TryParse(Convert.ToBase64String(tooLong).TrimEnd('=') + ".attest.h", out _, out _));
    }
}
