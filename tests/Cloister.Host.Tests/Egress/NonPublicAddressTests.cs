using System.Net;
using Cloister.Host.Egress;

namespace Cloister.Host.Tests.Egress;

public sealed class NonPublicAddressTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.0.9", "loopback")]
    [InlineData("10.1.2.3", "private (RFC 1918)")]
    [InlineData("172.16.0.1", "private (RFC 1918)")]
    [InlineData("172.31.255.255", "private (RFC 1918)")]
    [InlineData("192.168.1.1", "private (RFC 1918)")]
    [InlineData("169.254.169.254", "link-local (169.254.0.0/16, where the instance metadata service lives)")]
    [InlineData("100.64.0.1", "carrier-grade NAT (100.64.0.0/10)")]
    [InlineData("100.127.255.254", "carrier-grade NAT (100.64.0.0/10)")]
    [InlineData("0.0.0.0", "unspecified ('this network', 0.0.0.0/8)")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("fc00::1", "unique local (fc00::/7)")]
    [InlineData("fd12:3456::1", "unique local (fc00::/7)")]
    [InlineData("fe80::1", "link-local (fe80::/10)")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("::ffff:169.254.169.254", "link-local (169.254.0.0/16, where the instance metadata service lives)")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("64:ff9b::a9fe:a9fe", "link-local (169.254.0.0/16, where the instance metadata service lives)")]
    public void Non_public_addresses_are_classified(string address, string kind)
    {
        Assert.True(NonPublicAddress.TryClassify(IPAddress.Parse(address), out var range));
        Assert.Equal(kind, range.Kind);
    }

    [Theory]
    [InlineData("1.1.1.1")]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("169.255.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("64:ff9b::808:808")]
    public void Public_addresses_are_not_classified(string address)
    {
        Assert.False(NonPublicAddress.TryClassify(IPAddress.Parse(address), out var range));
        Assert.Null(range);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("::", false)]
    [InlineData("ff02::1", false)]
    public void Allowing_private_destinations_never_allows_unspecified_multicast_or_broadcast(string address, bool allowed)
    {
        var forwarder = new EgressForwarder(new EgressForwarderOptions { AllowPrivateDestinations = true });

        Assert.Equal(allowed, forwarder.IsAllowed(IPAddress.Parse(address), out var refusal));
        Assert.Equal(allowed, refusal is null);
    }

    [Fact]
    public void An_allowed_private_network_lets_only_its_own_addresses_through()
    {
        var forwarder = new EgressForwarder(new EgressForwarderOptions { AllowedPrivateNetworks = [IPNetwork.Parse("10.20.0.0/16")] });

        Assert.True(forwarder.IsAllowed(IPAddress.Parse("10.20.3.4"), out _));
        Assert.True(forwarder.IsAllowed(IPAddress.Parse("::ffff:10.20.3.4"), out _));
        Assert.False(forwarder.IsAllowed(IPAddress.Parse("10.21.3.4"), out var refusal));
        Assert.Equal("10.21.3.4 is private (RFC 1918) and this host does not allow private destinations", refusal);
        Assert.False(forwarder.IsAllowed(IPAddress.Parse("169.254.169.254"), out _));
        Assert.True(forwarder.IsAllowed(IPAddress.Parse("93.184.215.14"), out _));
    }

    [Fact]
    public void Timeouts_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EgressForwarder(new EgressForwarderOptions { ConnectTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EgressForwarder(new EgressForwarderOptions { RequestTimeout = TimeSpan.FromSeconds(-1) }));
    }
}
