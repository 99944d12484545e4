using System.Security.Cryptography;
using System.Text;
using Cloister.Runtime.Provisioning;

namespace Cloister.Runtime.Tests.Provisioning;

public sealed class ProvisioningTokenTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 12, 0, 0, 500, TimeSpan.Zero);

    [Fact]
    public void An_issued_token_reads_back_with_its_fields()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        var issued = ProvisioningToken.Issue("payments", "host-a", s_now, TimeSpan.FromMinutes(5), key);

        Assert.True(ProvisioningToken.TryRead(issued.Text, key, out var token, out var failure), failure);
        Assert.Equal(("payments", "host-a", issued.Id), (token!.Deployment, token.Host, token.Id));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(s_now.ToUnixTimeSeconds()), token.IssuedAt);
        Assert.Equal(token.IssuedAt.AddMinutes(5), token.ExpiresAt);
        Assert.Equal(32, token.Id.Length);
        Assert.Equal(SHA384.HashData(Encoding.UTF8.GetBytes(issued.Text)), ProvisioningToken.HashOf(issued.Text));
    }

    [Fact]
    public void Every_token_has_its_own_id()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        Assert.NotEqual(
            ProvisioningToken.Issue("d", "h", s_now, TimeSpan.FromMinutes(1), key).Id,
            ProvisioningToken.Issue("d", "h", s_now, TimeSpan.FromMinutes(1), key).Id);
    }

    [Fact]
    public void A_token_signed_by_another_key_or_changed_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var text = ProvisioningToken.Issue("payments", "host-a", s_now, TimeSpan.FromMinutes(5), key).Text;
        var parts = text.Split('.');
        var otherDeployment = ProvisioningToken.Issue("other", "host-a", s_now, TimeSpan.FromMinutes(5), key).Text.Split('.');

        Assert.False(ProvisioningToken.TryRead(text, other, out _, out var foreign));
        Assert.Equal("the signature does not verify", foreign);
        Assert.False(ProvisioningToken.TryRead($"v1.{otherDeployment[1]}.{parts[2]}", key, out _, out var swapped));
        Assert.Equal("the signature does not verify", swapped);
        Assert.False(ProvisioningToken.TryRead("v2" + text[2..], key, out _, out var version));
        Assert.Equal("not a v1 token", version);
        Assert.False(ProvisioningToken.TryRead(text + "!", key, out _, out var garbled));
        Assert.Equal("not base64url", garbled);
        Assert.False(ProvisioningToken.TryRead(new string('a', ProvisioningToken.MaxLength + 1), key, out _, out _));
    }

    [Fact]
    public void A_lifetime_beyond_five_minutes_or_a_key_that_is_not_P384_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.Throws<ArgumentOutOfRangeException>(() => ProvisioningToken.Issue("d", "h", s_now, TimeSpan.FromMinutes(6), key));
        Assert.Throws<ArgumentOutOfRangeException>(() => ProvisioningToken.Issue("d", "h", s_now, TimeSpan.Zero, key));
        Assert.Throws<ArgumentException>(() => ProvisioningToken.Issue("d", "h", s_now, TimeSpan.FromMinutes(1), p256));
    }
}
