using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Simulation;

public sealed class SoftwareNsmAttestationTests : IClassFixture<SimulatedRootFixture>
{
    private static readonly DateTimeOffset s_start = new(2026, 3, 1, 12, 0, 0, 123, TimeSpan.Zero);
    private static readonly string[] s_nsmKeyOrder =
        ["module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce"];

    private readonly SimulatedNitroRoot _root;
    private readonly FakeTimeProvider _time = new(s_start);

    public SoftwareNsmAttestationTests(SimulatedRootFixture fixture) => _root = fixture.Root;

    [Fact]
    public void Document_round_trips_pcrs_and_inputs_verifies_and_chains_to_the_simulated_root()
    {
        var options = new SoftwareNsmOptions { ParentRoleArn = "arn:aws:iam::123456789012:role/Webserver" };
        options.Pcrs[0] = RandomNumberGenerator.GetBytes(48);
        options.Pcrs[1] = RandomNumberGenerator.GetBytes(48);
        options.Pcrs[2] = RandomNumberGenerator.GetBytes(48);
        using var nsm = new SoftwareNsm(_root, options, _time);
        var userData = RandomNumberGenerator.GetBytes(100);
        var nonce = RandomNumberGenerator.GetBytes(32);
        var publicKey = RandomNumberGenerator.GetBytes(120);

        var document = Attest(nsm, new AttestationRequest(userData, nonce, publicKey));

        Assert.Equal(nsm.ModuleId, document.ModuleId);
        Assert.Equal("SHA384", document.Digest);
        Assert.Equal(s_start, document.Timestamp);
        Assert.Equal(Enumerable.Range(0, 16), document.Pcrs.Keys);
        foreach (var (index, value) in document.Pcrs)
        {
            Assert.Equal(Assert.IsType<DescribePcrResponse>(nsm.Process(new DescribePcrRequest((ushort)index))).Data, value);
        }

        Assert.Equal(options.Pcrs[0], document.Pcrs[0]);
        Assert.Equal(userData, document.Optional["user_data"]);
        Assert.Equal(nonce, document.Optional["nonce"]);
        Assert.Equal(publicKey, document.Optional["public_key"]);
        Assert.True(document.SignatureVerifies());
        Assert.True(document.ChainBuildsTo(_root.Certificate));
    }

    [Fact]
    public void Document_does_not_chain_to_the_aws_root_nor_to_another_simulated_root()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);
        using var awsRoot = X509Certificate2.CreateFromPem(File.ReadAllText(RepositoryPaths.Vector("attestation", "aws-root-g1.pem")));
        using var otherRoot = SimulatedNitroRoot.Create(_time);

        var document = Attest(nsm, new AttestationRequest());

        Assert.False(document.ChainBuildsTo(awsRoot));
        Assert.False(document.ChainBuildsTo(otherRoot.Certificate));
    }

    [Fact]
    public void Document_has_the_shape_of_an_aws_document()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);

        var document = Attest(nsm, new AttestationRequest());

        Assert.Equal(0x84, document.Cose[0]);
        Assert.Equal(new byte[] { 0xA1, 0x01, 0x38, 0x22 }, document.ProtectedHeader);
        Assert.Equal(96, document.Signature.Length);
        Assert.Equal(s_nsmKeyOrder, document.Keys);
        // The timestamp is a full eight-byte uint (1b …), as the NSM writes it.
        var timestamp = document.Payload.AsSpan().IndexOf("itimestamp"u8) + "itimestamp".Length;
        Assert.Equal(0x1B, document.Payload[timestamp]);
        Assert.Equal(0xBF, document.Payload[0]);
        Assert.Equal(0xFF, document.Payload[^1]);
        Assert.Matches("^i-[0-9a-f]{17}-enc[0-9a-f]{16}$", document.ModuleId);
        Assert.Equal([_root.Certificate.RawData, document.CaBundle[1]], document.CaBundle);
        Assert.All(document.Optional.Values, Assert.Null);
        Assert.Equal(3, document.Optional.Count);
    }

    [Fact]
    public void Enclave_id_begins_with_the_creation_time_in_milliseconds()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);

        var enclaveId = nsm.ModuleId[(nsm.ModuleId.IndexOf("-enc", StringComparison.Ordinal) + 4)..];

        Assert.Equal(s_start.ToUnixTimeMilliseconds(), Convert.ToInt64(enclaveId[..12], 16));
    }

    [Fact]
    public void Payload_map_can_be_definite_as_earlier_hardware_wrote_it()
    {
        using var nsm = new SoftwareNsm(_root, new SoftwareNsmOptions { IndefiniteLengthPayload = false }, _time);

        var document = Attest(nsm, new AttestationRequest());

        Assert.Equal(0xA9, document.Payload[0]);
        Assert.Equal(s_nsmKeyOrder, document.Keys);
    }

    [Fact]
    public void Pcrs_locked_after_boot_appear_in_the_document()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);
        var extended = Assert.IsType<ExtendPcrResponse>(nsm.Process(new ExtendPcrRequest(16, [1, 2, 3]))).Data;
        nsm.Process(new ExtendPcrRequest(17, [4]));
        nsm.Process(new LockPcrRequest(16));

        var document = Attest(nsm, new AttestationRequest());

        Assert.Equal([.. Enumerable.Range(0, 17)], document.Pcrs.Keys);
        Assert.Equal(extended, document.Pcrs[16]);
    }

    [Fact]
    public void Largest_inputs_with_every_pcr_locked_fit_the_response_buffer()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);
        nsm.Process(new LockPcrsRequest(32));
        var field = RandomNumberGenerator.GetBytes(SoftwareNsm.MaxAttestationFieldLength);
        var request = NsmCodec.Encode(new AttestationRequest(field, field, field));

        var response = nsm.ProcessRequest(request);

        Assert.True(response.Length <= NsmCodec.ResponseBufferLength, $"{response.Length} bytes");
        var document = DecodedDocument.Decode(Assert.IsType<AttestationResponse>(NsmCodec.DecodeResponse(response)).Document);
        Assert.Equal(32, document.Pcrs.Count);
        Assert.Equal(field, document.Optional["nonce"]);
        Assert.True(document.SignatureVerifies());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void An_input_over_1024_bytes_is_an_invalid_argument(int which)
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);
        var fields = new byte[]?[3];
        fields[which] = new byte[SoftwareNsm.MaxAttestationFieldLength + 1];

        var response = nsm.Process(new AttestationRequest(fields[0], fields[1], fields[2]));

        Assert.Equal(NsmErrorCode.InvalidArgument, Assert.IsType<NsmErrorResponse>(response).Code);
    }

    [Fact]
    public void Empty_inputs_are_present_and_empty_not_null()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);

        var document = Attest(nsm, new AttestationRequest([], [], []));

        Assert.All(document.Optional.Values, value => Assert.Equal(0, value?.Length));
    }

    [Fact]
    public void Leaf_lives_exactly_3_hours_from_3_seconds_before_first_use_with_the_aws_leaf_shape()
    {
        using var nsm = new SoftwareNsm(_root, new SoftwareNsmOptions { Region = "eu-west-1" }, _time);

        var document = Attest(nsm, new AttestationRequest());
        using var leaf = document.Leaf();

        var notBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime());
        Assert.Equal(TimeSpan.FromHours(3), leaf.NotAfter - leaf.NotBefore);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(s_start.ToUnixTimeSeconds() - 3), notBefore);
        Assert.Equal($"{nsm.ModuleId}.eu-west-1.sim", leaf.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.Equal("1.2.840.10045.4.3.3", leaf.SignatureAlgorithm.Value);
        Assert.Equal(384, leaf.GetECDsaPublicKey()!.KeySize);
        var basic = Assert.Single(leaf.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(basic.Critical);
        Assert.False(basic.CertificateAuthority);
        var usage = Assert.Single(leaf.Extensions.OfType<X509KeyUsageExtension>());
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, usage.KeyUsages);
        Assert.Single(leaf.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        // AWS's serial: enclave id, four zero bytes, issue time in Unix seconds.
        var enclaveId = nsm.ModuleId[(nsm.ModuleId.IndexOf("-enc", StringComparison.Ordinal) + 4)..];
        Assert.Equal($"{enclaveId}00000000{s_start.ToUnixTimeSeconds():x8}", leaf.SerialNumber, ignoreCase: true);
    }

    [Fact]
    public void Intermediate_is_a_p384_ca_with_path_length_0_issued_by_the_root()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);

        var document = Attest(nsm, new AttestationRequest());
        using var intermediate = X509CertificateLoader.LoadCertificate(document.CaBundle[1]);

        Assert.Equal(_root.Certificate.SubjectName.RawData, intermediate.IssuerName.RawData);
        var basic = Assert.Single(intermediate.Extensions.OfType<X509BasicConstraintsExtension>());
        Assert.True(basic is { Critical: true, CertificateAuthority: true, HasPathLengthConstraint: true, PathLengthConstraint: 0 });
        var usage = Assert.Single(intermediate.Extensions.OfType<X509KeyUsageExtension>());
        Assert.True(usage.Critical);
        Assert.True(usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.Single(intermediate.Extensions.OfType<X509SubjectKeyIdentifierExtension>());
        Assert.Single(intermediate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>());
        Assert.Equal("1.2.840.10045.4.3.3", intermediate.SignatureAlgorithm.Value);
        Assert.Equal(TimeSpan.FromDays(1), intermediate.NotAfter - intermediate.NotBefore);
    }

    [Fact]
    public void Leaf_is_reused_while_fresh_and_renewed_when_it_nears_expiry()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);
        var first = Attest(nsm, new AttestationRequest());

        _time.Advance(TimeSpan.FromHours(1));
        var reused = Attest(nsm, new AttestationRequest());
        _time.Advance(TimeSpan.FromHours(1));
        var renewed = Attest(nsm, new AttestationRequest());

        Assert.Equal(first.Certificate, reused.Certificate);
        Assert.NotEqual(first.Certificate, renewed.Certificate);
        Assert.Equal(first.CaBundle, renewed.CaBundle);
        Assert.True(renewed.SignatureVerifies());
        Assert.True(renewed.ChainBuildsTo(_root.Certificate));
        // The old document stays valid at its own time; the new one is not valid yet at the old time.
        Assert.True(first.ChainBuildsTo(_root.Certificate));
        Assert.False(renewed.ChainBuildsTo(_root.Certificate, first.Timestamp));
    }

    [Fact]
    public void Every_document_leaves_at_least_an_hour_of_chain_validity()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);

        for (var step = 0; step < 60; step++)
        {
            var document = Attest(nsm, new AttestationRequest());

            Assert.True(document.ChainBuildsTo(_root.Certificate, document.Timestamp + TimeSpan.FromHours(1)), $"after {step * 37} min");
            _time.Advance(TimeSpan.FromMinutes(37));
        }
    }

    [Fact]
    public void Intermediate_is_renewed_before_a_leaf_would_outlive_it()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);
        var first = Attest(nsm, new AttestationRequest());

        _time.Advance(TimeSpan.FromHours(21) + TimeSpan.FromMinutes(30));
        var later = Attest(nsm, new AttestationRequest());

        Assert.NotEqual(first.CaBundle[1], later.CaBundle[1]);
        Assert.Equal(first.CaBundle[0], later.CaBundle[0]);
        using var leaf = later.Leaf();
        using var intermediate = X509CertificateLoader.LoadCertificate(later.CaBundle[1]);
        Assert.True(leaf.NotAfter <= intermediate.NotAfter);
        Assert.True(later.ChainBuildsTo(_root.Certificate));
    }

    [Fact]
    public void Key_identifiers_link_leaf_to_intermediate_to_root()
    {
        using var nsm = new SoftwareNsm(_root, timeProvider: _time);

        var document = Attest(nsm, new AttestationRequest());
        using var leaf = document.Leaf();
        using var intermediate = X509CertificateLoader.LoadCertificate(document.CaBundle[1]);

        Assert.Equal(
            Single<X509SubjectKeyIdentifierExtension>(intermediate).SubjectKeyIdentifierBytes.ToArray(),
            Single<X509AuthorityKeyIdentifierExtension>(leaf).KeyIdentifier!.Value.ToArray());
        Assert.Equal(
            Single<X509SubjectKeyIdentifierExtension>(_root.Certificate).SubjectKeyIdentifierBytes.ToArray(),
            Single<X509AuthorityKeyIdentifierExtension>(intermediate).KeyIdentifier!.Value.ToArray());
    }

    private static T Single<T>(X509Certificate2 certificate)
        where T : X509Extension => Assert.Single(certificate.Extensions.OfType<T>());

    private static DecodedDocument Attest(SoftwareNsm nsm, AttestationRequest request)
    {
        var raw = nsm.ProcessRequest(NsmCodec.Encode(request));
        return DecodedDocument.Decode(Assert.IsType<AttestationResponse>(NsmCodec.DecodeResponse(raw)).Document);
    }
}
