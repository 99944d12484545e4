using Cloister.Enclave.Kms;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Kms;

public sealed class KmsUpstreamFactoryTests : IDisposable
{
    private readonly TempRunDirectory _run = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public void The_manifests_defaults_build_an_upstream()
    {
        using var upstream = KmsUpstreamFactory.Create(Settings(), Transport());

        Assert.NotNull(upstream);
    }

    [Fact]
    public void A_ca_file_that_is_missing_stops_the_supervisor_in_one_line()
    {
        var path = Path.Combine(_run.Path, "missing.pem");

        var ex = Assert.Throws<SupervisorStartupException>(() => KmsUpstreamFactory.Create(Settings(caFile: path), Transport()));

        Assert.Equal(StartupFailure.Configuration, ex.Reason);
        Assert.StartsWith("kms_proxy: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ca_file_without_certificates_stops_the_supervisor_in_one_line()
    {
        var path = Path.Combine(_run.Path, "roots.pem");
        File.WriteAllText(path, "not PEM\n");

        var ex = Assert.Throws<SupervisorStartupException>(() => KmsUpstreamFactory.Create(Settings(caFile: path), Transport()));

        Assert.Equal($"kms_proxy: {path}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)", ex.Message);
    }

    [Fact]
    public void A_ca_file_of_pem_certificates_is_taken()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        var path = Path.Combine(_run.Path, "roots.pem");
        File.WriteAllText(path, root.ExportCertificatePem());

        using var upstream = KmsUpstreamFactory.Create(Settings(caFile: path, endpoint: "https://kms.internal.test:8443"), Transport());

        Assert.NotNull(upstream);
    }

    [Theory]
    [InlineData("http://kms.us-east-1.amazonaws.com", "kms_proxy: the KMS endpoint 'http://kms.us-east-1.amazonaws.com/' is not https://host[:port]/")]
    [InlineData("kms.us-east-1.amazonaws.com", "kms_proxy: the endpoint 'kms.us-east-1.amazonaws.com' is not an absolute URL")]
    public void An_endpoint_that_cannot_be_used_stops_the_supervisor_in_one_line(string endpoint, string expected)
    {
        var ex = Assert.Throws<SupervisorStartupException>(() => KmsUpstreamFactory.Create(Settings(endpoint: endpoint), Transport()));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    private static KmsProxySettings Settings(string? caFile = null, string? endpoint = null) =>
        new() { Region = "us-east-1", Allow = ["Decrypt"], Keys = ["alias/payments"], CaFile = caFile, Endpoint = endpoint };

    private VsockTransport Transport() =>
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = 16 });
}
