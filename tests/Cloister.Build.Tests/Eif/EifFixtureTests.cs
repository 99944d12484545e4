using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Cloister.Build.Eif;

namespace Cloister.Build.Tests.Eif;

public sealed class EifFixtureTests
{
    private static readonly System.Text.Json.JsonElement Unsigned = TestVectors.Expected.GetProperty("unsigned");
    private static readonly System.Text.Json.JsonElement Signed = TestVectors.Expected.GetProperty("signed");

    [Fact]
    public void Reader_finds_the_sections_of_the_unsigned_fixture()
    {
        using var reader = EifReader.Open(TestVectors.Derived("synthetic-unsigned.eif"));

        Assert.Equal(4, reader.Header.Version);
        Assert.Equal(EifArchitecture.X64, reader.Header.Architecture);
        Assert.Equal(
            [EifSectionType.Kernel, EifSectionType.Cmdline, EifSectionType.Metadata, EifSectionType.Ramdisk, EifSectionType.Ramdisk],
            reader.Sections.Select(s => s.Type));
        Assert.Equal(Unsigned.GetProperty("section_offsets").EnumerateArray().Select(e => e.GetInt64()), reader.Sections.Select(s => s.HeaderOffset));
        Assert.Equal(Unsigned.GetProperty("section_sizes").EnumerateArray().Select(e => e.GetInt64()), reader.Sections.Select(s => s.Size));
        Assert.False(reader.IsSigned);
    }

    [Theory]
    [InlineData("unsigned")]
    [InlineData("signed")]
    public void Inspection_reproduces_the_expected_crc_and_pcrs(string which)
    {
        var expected = TestVectors.Expected.GetProperty(which);
        using var reader = EifReader.Open(TestVectors.Derived(expected.GetProperty("file").GetString()!));
        using var inspection = reader.Inspect();

        Assert.True(inspection.CrcMatches);
        Assert.Equal(Convert.ToUInt32(expected.GetProperty("crc32").GetString(), 16), inspection.ComputedCrc);
        var pcrs = expected.GetProperty("pcrs");
        Assert.Equal(pcrs.GetProperty("PCR0").GetString(), Convert.ToHexStringLower(inspection.Measurements.Pcr0));
        Assert.Equal(pcrs.GetProperty("PCR1").GetString(), Convert.ToHexStringLower(inspection.Measurements.Pcr1));
        Assert.Equal(pcrs.GetProperty("PCR2").GetString(), Convert.ToHexStringLower(inspection.Measurements.Pcr2));
        Assert.Equal(pcrs.TryGetProperty("PCR8", out var pcr8) ? pcr8.GetString() : null, inspection.Measurements.Pcr8 is { } p ? Convert.ToHexStringLower(p) : null);
    }

    [Fact]
    public void Crc_is_crc32_iso_hdlc_over_the_file_without_the_crc_field()
    {
        var file = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        var crc = new Crc32();
        crc.Append(file.AsSpan(0, 544));
        crc.Append(file.AsSpan(548));

        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(544)), crc.GetCurrentHashAsUInt32());
    }

    [Fact]
    public void Pcrs_follow_the_extend_formula_over_the_section_data()
    {
        var sections = ReadSectionData("synthetic-unsigned.eif");
        var kernel = sections[0];
        var cmdline = sections[1];
        var bootstrap = sections[3];
        var customer = sections[4];

        static string Extend(params byte[][] parts) => Convert.ToHexStringLower(SHA384.HashData([.. new byte[48], .. SHA384.HashData(parts.SelectMany(p => p).ToArray())]));

        var pcrs = Unsigned.GetProperty("pcrs");
        Assert.Equal(pcrs.GetProperty("PCR0").GetString(), Extend(kernel, cmdline, bootstrap, customer));
        Assert.Equal(pcrs.GetProperty("PCR1").GetString(), Extend(kernel, cmdline, bootstrap));
        Assert.Equal(pcrs.GetProperty("PCR2").GetString(), Extend(customer));
        Assert.Equal(Unsigned.GetProperty("bootstrap_cpio_sha384").GetString(), Convert.ToHexStringLower(SHA384.HashData(bootstrap)));
        Assert.Equal(Unsigned.GetProperty("customer_cpio_sha384").GetString(), Convert.ToHexStringLower(SHA384.HashData(customer)));
    }

    [Fact]
    public void Building_from_the_unsigned_fixtures_sections_gives_the_identical_file()
    {
        var original = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        var sections = ReadSectionData("synthetic-unsigned.eif");
        var metadata = EifMetadata.Parse(sections[2], 0);
        Assert.Equal(Unsigned.GetProperty("metadata_json").GetString(), Encoding.UTF8.GetString(metadata.ToUtf8Json()));

        var builder = new EifBuilder(new MemoryStream(sections[0]), Encoding.UTF8.GetString(sections[1]), metadata);
        builder.AddRamdisk(new MemoryStream(sections[3]));
        builder.AddRamdisk(new MemoryStream(sections[4]));
        using var output = new MemoryStream();
        var measurements = builder.WriteTo(output);

        Assert.Equal(original, output.ToArray());
        Assert.Equal(Unsigned.GetProperty("pcrs").GetProperty("PCR0").GetString(), Convert.ToHexStringLower(measurements.Pcr0));
        Assert.Null(measurements.Pcr8);
    }

    [Fact]
    public void Building_from_the_fixture_cpio_files_gives_the_identical_file()
    {
        var original = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        var sections = ReadSectionData("synthetic-unsigned.eif");
        var builder = new EifBuilder(new MemoryStream(sections[0]), Encoding.UTF8.GetString(sections[1]), EifMetadata.Parse(sections[2], 0));
        using var bootstrap = File.OpenRead(TestVectors.Derived("synthetic-bootstrap.cpio"));
        using var customer = File.OpenRead(TestVectors.Derived("synthetic-customer.cpio"));
        builder.AddRamdisk(bootstrap);
        builder.AddRamdisk(customer);
        using var output = new MemoryStream();
        builder.WriteTo(output);

        Assert.Equal(original, output.ToArray());
    }

    [Fact]
    public void Signed_fixture_has_the_expected_pcr8_and_a_valid_signature()
    {
        using var reader = EifReader.Open(TestVectors.Derived("synthetic-signed.eif"));
        using var inspection = reader.Inspect();
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(TestVectors.Derived("synthetic-signing-cert.pem")));

        Assert.True(reader.IsSigned);
        Assert.Equal(EifSectionType.Signature, reader.Sections[^1].Type);
        Assert.Equal(Signed.GetProperty("signature_section_len").GetInt64(), reader.Sections[^1].Size);
        Assert.True(inspection.SignatureValid);
        Assert.Equal(Signed.GetProperty("pcrs").GetProperty("PCR8").GetString(), Convert.ToHexStringLower(Pcr.ForCertificate(certificate)));
        Assert.Equal(File.ReadAllBytes(TestVectors.Derived("synthetic-signing-cert.pem")), inspection.Signature!.CertificatePem);
        Assert.Equal(Signed.GetProperty("cose_sign1_len").GetInt32(), inspection.Signature.CoseSign1.Length);
        Assert.Equal(0x84, inspection.Signature.CoseSign1[0]);
    }

    [Fact]
    public void Section_streams_return_exactly_the_section_data()
    {
        var file = File.ReadAllBytes(TestVectors.Derived("synthetic-signed.eif"));
        using var reader = new EifReader(new MemoryStream(file));
        foreach (var section in reader.Sections)
        {
            using var data = reader.OpenSection(section);
            using var copy = new MemoryStream();
            data.CopyTo(copy, 7);

            Assert.Equal(file.AsSpan((int)section.DataOffset, (int)section.Size).ToArray(), copy.ToArray());
        }
    }

    internal static List<byte[]> ReadSectionData(string fixture)
    {
        using var reader = EifReader.Open(TestVectors.Derived(fixture));
        return reader.Sections.Select(section =>
        {
            using var data = reader.OpenSection(section);
            using var copy = new MemoryStream();
            data.CopyTo(copy);
            return copy.ToArray();
        }).ToList();
    }
}
