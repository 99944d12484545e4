using System.Net.Sockets;
using Cloister.Runtime.Vsock;

namespace Cloister.Runtime.Tests.Vsock;

public sealed class VsockEndpointTests
{
    // struct sockaddr_vm on x86_64/arm64 (little-endian): family u16 = 40, reserved u16, port u32, cid u32, flags u8, 3 zero bytes.
    [Theory]
    [InlineData(3u, 9000u, "2800" + "0000" + "28230000" + "03000000" + "00" + "000000")]
    [InlineData(16u, 5000u, "2800" + "0000" + "88130000" + "10000000" + "00" + "000000")]
    [InlineData(uint.MaxValue, 7000u, "2800" + "0000" + "581B0000" + "FFFFFFFF" + "00" + "000000")]
    [InlineData(0x12345678u, 0xDEADBEEFu, "2800" + "0000" + "EFBEADDE" + "78563412" + "00" + "000000")]
    public void Serializes_sockaddr_vm_byte_for_byte(uint cid, uint port, string expectedHex)
    {
        Assert.True(BitConverter.IsLittleEndian, "the expected bytes are those of a little-endian machine");
        var endpoint = new VsockEndpoint(cid, port);

        var address = endpoint.Serialize();

        Assert.Equal(16, address.Size);
        Assert.Equal(expectedHex, Convert.ToHexString(address.Buffer.Span[..address.Size]));
        Assert.Equal(endpoint, endpoint.Create(address));
        Assert.Equal((AddressFamily)40, endpoint.AddressFamily);
    }

    [Fact]
    public void Write_clears_stale_bytes_in_the_destination()
    {
        var buffer = Enumerable.Repeat((byte)0xAA, 20).ToArray();

        new VsockEndpoint(3, 7001).WriteSockaddr(buffer);

        Assert.Equal("28000000591B00000300000000000000" + "AAAAAAAA", Convert.ToHexString(buffer));
    }

    [Fact]
    public void Reading_another_family_names_the_field()
    {
        var bytes = Convert.FromHexString("01000000282300000300000000000000");

        var ex = Assert.Throws<FormatException>(() => VsockEndpoint.ReadSockaddr(bytes));

        Assert.Contains("svm_family at offset 0 is 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_a_short_address_fails() =>
        Assert.Throws<FormatException>(() => VsockEndpoint.ReadSockaddr(new byte[12]));

    [Fact]
    public void Constants_match_the_design_port_table()
    {
        Assert.Equal(3u, VsockEndpoint.HostCid);
        Assert.Equal(
            [9000u, 7000u, 7001u, 7002u, 7003u],
            new[] { VsockEndpoint.HeartbeatPort, VsockEndpoint.StatusPort, VsockEndpoint.LogsPort, VsockEndpoint.EgressPort, VsockEndpoint.ProvisionerPort });
    }

    [Fact]
    public void Equality_and_text_follow_cid_and_port()
    {
        Assert.Equal(new VsockEndpoint(3, 9000), new VsockEndpoint(3, 9000));
        Assert.NotEqual(new VsockEndpoint(3, 9000), new VsockEndpoint(4, 9000));
        Assert.Equal(new VsockEndpoint(3, 9000).GetHashCode(), new VsockEndpoint(3, 9000).GetHashCode());
        Assert.Equal("16:5000", new VsockEndpoint(16, 5000).ToString());
    }
}
