using Cloister.Host.Ingress;

namespace Cloister.Host.Tests.Ingress;

public sealed class PublishedPortTests
{
    [Theory]
    [InlineData("8443:443", 8443, 443)]
    [InlineData("0:80", 0, 80)]
    public void Parses_host_and_enclave_port(string text, int host, int enclave) =>
        Assert.Equal(new PublishedPort(host, enclave), PublishedPort.Parse(text));

    [Theory]
    [InlineData("443", "expected HOSTPORT:PORT")]
    [InlineData("x:443", "HOSTPORT 'x'")]
    [InlineData("8443:0", "PORT '0'")]
    [InlineData("8443:70000", "PORT '70000'")]
    [InlineData("-1:443", "HOSTPORT '-1'")]
    public void Rejects_malformed_text_naming_the_part(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => PublishedPort.Parse(text)).Message, StringComparison.Ordinal);
}
