using System.Net.Sockets;
using Cloister.Runtime.Provisioning;

namespace Cloister.Runtime.Tests.Provisioning;

public sealed class ProvisioningFailuresTests
{
    [Theory]
    [InlineData("{\"error\":\"refused\"}", "refused")]
    [InlineData("{\"error\":\"two\\nlines\"}", "two lines")]
    [InlineData("<html>500</html>", "(16 bytes that are not {\"error\"})")]
    [InlineData("{\"error\":\"x\",\"secret\":\"y\"}", "(26 bytes that are not {\"error\"})")]
    public void An_error_body_is_its_error_or_only_its_size(string body, string expected) =>
        Assert.Equal(expected, ProvisioningFailures.ErrorOf(System.Text.Encoding.UTF8.GetBytes(body)));

    [Fact]
    public void The_innermost_cause_is_added_only_when_it_says_something_new()
    {
        var generic = new HttpRequestException("An error occurred while sending the request.", new IOException("outer", new SocketException((int)SocketError.ConnectionReset)));
        var specific = new HttpRequestException("Connection refused (p:443)", new SocketException((int)SocketError.ConnectionRefused));

        Assert.Equal($"An error occurred while sending the request. ({new SocketException((int)SocketError.ConnectionReset).Message})", ProvisioningFailures.OneLine(generic));
        Assert.Equal("Connection refused (p:443)", ProvisioningFailures.OneLine(specific));
        Assert.Equal("a b", ProvisioningFailures.OneLine(new IOException("a\nb")));
    }
}
