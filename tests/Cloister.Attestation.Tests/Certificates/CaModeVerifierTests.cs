using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Certificates;

/// <summary>
/// CA mode without a network: a provisioner's root → a deployment's name-constrained intermediate → an attested leaf,
/// what the platform's chain builder (OpenSSL on Linux) enforces of the constraints, and what the verifier enforces
/// itself where the platform lets a name through. The handshakes are in Cloister.Client.Tests.
/// </summary>
public sealed class CaModeVerifierTests : IClassFixture<SimulatedRootFixture>, IDisposable
{
    private readonly FakeTimeProvider _time = new(TestEnclave.Start);
    private readonly TestEnclave _enclave;
    private readonly SimulatedRootFixture _fixture;
    private readonly TestCertificateAuthority _root = TestCertificateAuthority.Create("CN=provisioner root", TestEnclave.Start);

    public CaModeVerifierTests(SimulatedRootFixture fixture)
    {
        _fixture = fixture;
        _enclave = new TestEnclave(fixture.Root, _time);
    }

    [Fact]
    public void The_platform_enforces_dns_name_constraints_and_the_attested_label_does_not_trip_it()
    {
        using var intermediate = TestCertificateAuthority.Deployment(_root, TestEnclave.Start, "app.example.com");
        using var inside = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.com"]);
        using var outside = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.com", "evil.example.org"]);
        Assert.True(AttestedCertificate.TryGetDocument(inside, out var document));
        Assert.True(document.Length * 2 > 2000, $"the attested label is {document.Length * 2} characters long");

        var (insideBuilt, _) = PlatformBuild(inside, intermediate);
        var (outsideBuilt, outsideStatus) = PlatformBuild(outside, intermediate);

        Assert.True(insideBuilt, "OpenSSL accepts the attested label of thousands of hex characters under a dNSName constraint");
        Assert.False(outsideBuilt);
        Assert.Equal(X509ChainStatusFlags.HasNotPermittedNameConstraint, outsideStatus);
    }

    [Fact]
    public void A_leaf_in_the_constraints_passes_every_check_and_the_attestation()
    {
        using var intermediate = TestCertificateAuthority.Deployment(_root, TestEnclave.Start, "app.example.com", "api.example.com");
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["api.example.com", "app.example.com"]);

        var result = Verify(leaf, intermediate, "app.example.com");

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(_enclave.ModuleId, result.Document!.ModuleId);
    }

    [Fact]
    public void A_leaf_naming_a_host_outside_the_constraints_is_refused_naming_the_field_and_the_ca()
    {
        using var intermediate = TestCertificateAuthority.Deployment(_root, TestEnclave.Start, "app.example.com");
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["evil.example.org"]);

        var result = Verify(leaf, intermediate, "evil.example.org");

        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, result.Failure);
        Assert.Equal(
            "host: 'evil.example.org' is in none of the permitted dNSName subtrees 'app.example.com': the name constraints of 'CN=deployment intermediate' (an intermediate)",
            result.Detail);
        Assert.Null(result.DocumentVerification);
    }

    [Fact]
    public void The_attested_san_entry_must_lie_in_the_constraints_too()
    {
        // The leaf names the right host, but its document entry hangs under another name (the first hostname's).
        using var intermediate = TestCertificateAuthority.Deployment(_root, TestEnclave.Start, "app.example.com");
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["x.other.org", "app.example.com"]);

        var result = Verify(leaf, intermediate, "app.example.com");

        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, result.Failure);
        Assert.StartsWith("subjectAltName of 'CN=x.other.org' (the leaf): 'x.other.org' is in none", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_host_is_checked_itself_where_a_wildcard_covers_an_excluded_name_the_platform_lets_through()
    {
        using var intermediate = TestCertificateAuthority.Create(
            "CN=deployment intermediate", TestEnclave.Start, _root, Constraints(permitted: "example.com", excluded: "secret.example.com"));
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["*.example.com"]);

        var (platformBuilt, _) = PlatformBuild(leaf, intermediate);
        var result = Verify(leaf, intermediate, "secret.example.com");

        Assert.True(platformBuilt, "OpenSSL checks the SAN '*.example.com', which is not inside 'secret.example.com'");
        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, result.Failure);
        Assert.StartsWith("host: 'secret.example.com' meets the excluded dNSName subtree 'secret.example.com'", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_the_dns_constraints_cannot_bound_fail_closed()
    {
        using var intermediate = TestCertificateAuthority.Deployment(_root, TestEnclave.Start, "app.example.com");
        using var withAddress = IssueWithExtraSan(intermediate, "app.example.com");
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.com"]);

        var (platformBuilt, _) = PlatformBuild(withAddress, intermediate);
        var addressSan = Verify(withAddress, intermediate, "app.example.com");
        var addressHost = Verify(leaf, intermediate, "127.0.0.1");

        Assert.True(platformBuilt, "RFC 5280 leaves an iPAddress name free under dNSName constraints, and OpenSSL does");
        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, addressSan.Failure);
        Assert.Contains("a name of another form than dNSName (iPAddress)", addressSan.Detail, StringComparison.Ordinal);
        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, addressHost.Failure);
        Assert.StartsWith("host: '127.0.0.1' is an IP address", addressHost.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_constraint_form_the_verifier_does_not_implement_refuses_the_ca()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
        using (writer.PushSequence())
        {
            writer.WriteOctetString([10, 0, 0, 0, 255, 0, 0, 0], new Asn1Tag(TagClass.ContextSpecific, 7));
        }

        using var intermediate = TestCertificateAuthority.Create(
            "CN=deployment intermediate", TestEnclave.Start, _root, new X509Extension(NameConstraints.Oid, writer.Encode(), critical: true));
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.com"]);

        var result = Verify(leaf, intermediate, "app.example.com");

        Assert.Equal(AttestedTlsFailure.NameConstraintsUnsupported, result.Failure);
        Assert.Equal(
            "'CN=deployment intermediate' (an intermediate): nameConstraints: excludedSubtrees holds a iPAddress subtree; only dNSName subtrees are enforced, so the CA is refused",
            result.Detail);
    }

    [Fact]
    public void The_roots_own_constraints_bind_too()
    {
        using var root = TestCertificateAuthority.Create("CN=constrained root", TestEnclave.Start, nameConstraints: NameConstraints.Write(["example.com"]));
        using var intermediate = TestCertificateAuthority.Create("CN=deployment intermediate", TestEnclave.Start, root);
        using var inside = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.com"]);
        using var outside = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.org"]);

        Assert.True(Verify(inside, intermediate, "app.example.com", root).IsValid);
        var refused = Verify(outside, intermediate, "app.example.org", root);
        Assert.Equal(AttestedTlsFailure.NameConstraintViolation, refused.Failure);
        Assert.EndsWith("the name constraints of 'CN=constrained root' (the root)", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_inside_the_constraints_that_the_leaf_does_not_name_is_a_hostname_mismatch()
    {
        using var intermediate = TestCertificateAuthority.Deployment(_root, TestEnclave.Start, "example.com");
        using var leaf = _enclave.Certificate(issuer: intermediate.Certificate, hostnames: ["app.example.com"]);

        Assert.Equal(AttestedTlsFailure.HostnameMismatch, Verify(leaf, intermediate, "api.example.com").Failure);
    }

    public void Dispose()
    {
        _enclave.Dispose();
        _root.Dispose();
    }

    private static X509Extension Constraints(string permitted, string excluded)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var (name, tag) in new[] { (permitted, 0), (excluded, 1) })
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, tag, isConstructed: true)))
                using (writer.PushSequence())
                {
                    writer.WriteCharacterString(UniversalTagNumber.IA5String, name, new Asn1Tag(TagClass.ContextSpecific, 2));
                }
            }
        }

        return new X509Extension(NameConstraints.Oid, writer.Encode(), critical: true);
    }

    /// <summary>An attested leaf whose SAN also carries the IP address 192.0.2.1 (.NET's builder writes it; AttestedCertificate never does).</summary>
    private X509Certificate2 IssueWithExtraSan(TestCertificateAuthority issuer, string hostname)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var document = _enclave.Attest(key);
        var now = _time.GetUtcNow();
        var request = new CertificateRequest($"CN={hostname}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new AsnWriter(AsnEncodingRules.DER);
        using (san.PushSequence())
        {
            san.WriteCharacterString(UniversalTagNumber.IA5String, hostname, new Asn1Tag(TagClass.ContextSpecific, 2));
            san.WriteCharacterString(UniversalTagNumber.IA5String, $"{Convert.ToHexStringLower(document)}.{hostname}", new Asn1Tag(TagClass.ContextSpecific, 2));
            san.WriteOctetString([192, 0, 2, 1], new Asn1Tag(TagClass.ContextSpecific, 7));
        }

        request.CertificateExtensions.Add(new X509Extension("2.5.29.17", san.Encode(), false));
        return request.Create(issuer.Certificate, now.AddMinutes(-1), now.AddHours(1), RandomNumberGenerator.GetBytes(8));
    }

    private (bool Built, X509ChainStatusFlags Status) PlatformBuild(X509Certificate2 leaf, TestCertificateAuthority intermediate)
    {
        using var chain = new X509Chain();
        using var trusted = _root.PublicCertificate();
        using var sent = intermediate.PublicCertificate();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trusted);
        chain.ChainPolicy.ExtraStore.Add(sent);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        var built = chain.Build(leaf);
        return (built, chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status));
    }

    private Attestation.Certificates.AttestedTlsResult Verify(X509Certificate2 leaf, TestCertificateAuthority intermediate, string host, TestCertificateAuthority? root = null)
    {
        using var trusted = (root ?? _root).PublicCertificate();
        using var sent = intermediate.PublicCertificate();
        var verifier = new AttestedTlsVerifier(new AttestedTlsOptions
        {
            Pcrs = _enclave.Policy,
            TrustedRoots = [_fixture.Root.Certificate],
            ChainTrust = TlsChainTrust.IssuedBy([trusted]),
            TimeProvider = _time,
            CacheCapacity = 0,
        });
        return verifier.Verify(leaf, [sent], host);
    }
}
