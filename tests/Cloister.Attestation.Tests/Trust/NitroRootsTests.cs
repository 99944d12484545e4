using System.Security.Cryptography;
using Cloister.Attestation.Trust;
using Cloister.Attestation.Tests.Verification;
using Cloister.Testing;

namespace Cloister.Attestation.Tests.Trust;

public sealed class NitroRootsTests
{
    [Fact]
    public void The_embedded_root_is_the_published_aws_root_g1()
    {
        using var embedded = NitroRoots.AwsG1;
        using var published = Verifiers.LoadPem(AttestationVectors.AwsRootPemPath);

        Assert.Equal(published.RawData, embedded.RawData);
        Assert.Equal("641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B", Convert.ToHexString(SHA256.HashData(embedded.RawData)));
        Assert.Equal(NitroRoots.AwsG1Sha256, Convert.ToHexString(SHA256.HashData(embedded.RawData)));
        Assert.Equal("CN=aws.nitro-enclaves, OU=AWS, O=Amazon, C=US", embedded.Subject);
    }

    [Fact]
    public void Each_access_returns_an_instance_the_caller_owns()
    {
        var first = NitroRoots.AwsG1;
        first.Dispose();

        using var second = NitroRoots.AwsG1;

        Assert.Equal(533, second.RawData.Length);
    }
}
