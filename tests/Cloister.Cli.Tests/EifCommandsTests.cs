using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Cloister.Build.Eif;
using Cloister.Build.Tests;

using Cloister.Testing;

namespace Cloister.Cli.Tests;

public sealed class EifCommandsTests : IDisposable
{
    private static readonly JsonElement Unsigned = TestVectors.Expected.GetProperty("unsigned");
    private static readonly JsonElement Signed = TestVectors.Expected.GetProperty("signed");
    private static readonly Dictionary<string, string> FixedEpoch = new() { ["SOURCE_DATE_EPOCH"] = "1704067200" };

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("cloister-eif-cli-");

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public void Describe_prints_nitro_cli_fields_in_order_for_the_signed_fixture()
    {
        var result = CliRunner.Run("describe", TestVectors.Derived("synthetic-signed.eif"));

        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(
            ["EifVersion", "Measurements", "IsSigned", "SigningCertificate", "CheckCRC", "SignatureCheck", "ImageName", "ImageVersion", "Metadata"],
            json.RootElement.EnumerateObject().Select(p => p.Name));
        var measurements = json.RootElement.GetProperty("Measurements");
        Assert.Equal("Sha512_48 { .. }", measurements.GetProperty("HashAlgorithm").GetString());
        foreach (var pcr in Signed.GetProperty("pcrs").EnumerateObject())
        {
            Assert.Equal(pcr.Value.GetString(), measurements.GetProperty(pcr.Name).GetString());
        }

        Assert.True(json.RootElement.GetProperty("SignatureCheck").GetBoolean());
        Assert.Equal("Jan  1 00:00:00 2024 GMT", json.RootElement.GetProperty("SigningCertificate").GetProperty("NotBefore").GetString());
        Assert.StartsWith("{\n  \"EifVersion\": 4,\n  \"Measurements\": {\n    \"HashAlgorithm\": ", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_reports_a_crc_mismatch_but_still_prints_the_description()
    {
        var image = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        image[2000] ^= 1;

        var result = CliRunner.Run("describe", Write("crc.eif", image));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("\"CheckCRC\": false", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CrcMismatch", result.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    public static TheoryData<string, int, byte[], string> Corruptions => new()
    {
        { "bad magic", 0, "XEIF"u8.ToArray(), "BadMagic" },
        { "wrong version", 4, [0, 9], "UnsupportedVersion" },
        { "33 sections", 0x1A, [0, 33], "TooManySections" },
        { "section size", 1584 + 4, [0, 0, 0, 0, 0, 0, 0, 1], "SectionSizeMismatch" },
        { "unknown type", 1715, [0, 7], "UnknownSectionType" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Describe_names_structural_corruption_without_a_stack_trace(string what, int offset, byte[] bytes, string error)
    {
        var image = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        bytes.CopyTo(image, offset);

        var result = CliRunner.Run("describe", Write(what.Replace(' ', '-') + ".eif", image));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(error, result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        AssertNoStackTrace(result);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(300)]
    [InlineData(555)]
    [InlineData(4000)]
    public void Describe_reports_truncation_with_its_offset(int length)
    {
        var image = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"))[..length];

        var result = CliRunner.Run("describe", Write("truncated.eif", image));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"(Truncated) at byte offset {length}", result.Stderr, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public void Describe_of_a_missing_file_is_a_usage_error()
    {
        var result = CliRunner.Run("describe", Path.Combine(_work.FullName, "absent.eif"));

        Assert.Equal(2, result.ExitCode);
        AssertNoStackTrace(result);
    }

    [Fact]
    public void Build_prints_the_expected_measurements_and_is_reproducible()
    {
        var inputs = ExtractFixtureInputs();
        var first = Path.Combine(_work.FullName, "first.eif");
        var second = Path.Combine(_work.FullName, "second.eif");

        var result = CliRunner.Run(FixedEpoch, [.. BuildArguments(inputs, first)]);
        var again = CliRunner.Run(FixedEpoch, [.. BuildArguments(inputs, second)]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(FixtureMeasurementsJson("Sha512_48 { .. }"), result.Stdout);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        using var reader = EifReader.Open(first);
        var metadata = reader.ReadMetadata()!;
        Assert.Equal("2024-01-01T00:00:00+00:00", metadata.BuildTime);
        Assert.Equal(("cloister", "Linux", "4.14.256"), (metadata.BuildTool, metadata.OperatingSystem, metadata.KernelVersion));
        Assert.Equal(("synthetic", "1.0"), (metadata.ImageName, metadata.ImageVersion));
        Assert.Equal("""{"team":"enclaves"}""", metadata.CustomMetadata?.GetRawText());
    }

    [Theory]
    [InlineData("nitro-cli-1.4", "Sha384 { ... }")]
    [InlineData("nitro-cli-1.5", "Sha512_48 { .. }")]
    public void Build_describe_and_sign_print_hash_algorithm_as_the_release_asked_for(string release, string text)
    {
        var output = Path.Combine(_work.FullName, "named.eif");
        var (certificate, key) = WriteSigningIdentity("named");

        var build = CliRunner.Run(FixedEpoch, [.. BuildArguments(ExtractFixtureInputs(), output), "--hash-algorithm-name", release]);
        var describe = CliRunner.Run("describe", output, "--hash-algorithm-name", release);
        var sign = CliRunner.Run("sign", output, "--signing-certificate", certificate, "--private-key", key, "--output", output + ".signed", "--hash-algorithm-name", release);

        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Equal(FixtureMeasurementsJson(text), build.Stdout);
        Assert.True(describe.ExitCode == 0, describe.ToString());
        Assert.StartsWith($"{{\n  \"EifVersion\": 4,\n  \"Measurements\": {{\n    \"HashAlgorithm\": \"{text}\",\n", describe.Stdout, StringComparison.Ordinal);
        Assert.True(sign.ExitCode == 0, sign.ToString());
        Assert.StartsWith($"{{\n  \"Measurements\": {{\n    \"HashAlgorithm\": \"{text}\",\n", sign.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("build")]
    [InlineData("describe")]
    [InlineData("sign")]
    public void An_unknown_hash_algorithm_name_is_a_usage_error(string command)
    {
        var (certificate, key) = WriteSigningIdentity("unknown");
        var output = Path.Combine(_work.FullName, "never.eif");
        string[] arguments = command switch
        {
            "build" => [.. BuildArguments(ExtractFixtureInputs(), output)],
            "describe" => ["describe", TestVectors.Derived("synthetic-unsigned.eif")],
            _ => ["sign", TestVectors.Derived("synthetic-unsigned.eif"), "--signing-certificate", certificate, "--private-key", key, "--output", output],
        };

        var result = CliRunner.Run([.. arguments, "--hash-algorithm-name", "nitro-cli-1.6"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("nitro-cli-1.6", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
        Assert.False(File.Exists(output));
        AssertNoStackTrace(result);
    }

    [Fact]
    public void Signed_build_prints_pcr8_and_describes_as_verified()
    {
        var inputs = ExtractFixtureInputs();
        var (certificate, key) = WriteSigningIdentity("signer");
        var output = Path.Combine(_work.FullName, "signed.eif");

        var build = CliRunner.Run(FixedEpoch, [.. BuildArguments(inputs, output), "--signing-certificate", certificate, "--private-key", key, "--arch", "aarch64"]);
        var describe = CliRunner.Run("describe", output);

        Assert.Equal(0, build.ExitCode);
        using var built = JsonDocument.Parse(build.Stdout);
        using var described = JsonDocument.Parse(describe.Stdout);
        Assert.Equal(0, describe.ExitCode);
        Assert.True(described.RootElement.GetProperty("SignatureCheck").GetBoolean());
        Assert.Equal(built.RootElement.GetProperty("Measurements").GetProperty("PCR8").GetString(), described.RootElement.GetProperty("Measurements").GetProperty("PCR8").GetString());
        Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(File.ReadAllBytes(output).AsSpan(6)));
    }

    [Fact]
    public void Sign_in_place_adds_a_verifying_signature_and_keeps_pcr0()
    {
        var image = Write("to-sign.eif", File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif")));
        var (certificate, key) = WriteSigningIdentity("inplace");

        var sign = CliRunner.Run("sign", image, "--signing-certificate", certificate, "--private-key", key);
        var describe = CliRunner.Run("describe", image);

        Assert.Equal(0, sign.ExitCode);
        Assert.Equal(0, describe.ExitCode);
        using var json = JsonDocument.Parse(describe.Stdout);
        Assert.True(json.RootElement.GetProperty("IsSigned").GetBoolean());
        Assert.True(json.RootElement.GetProperty("SignatureCheck").GetBoolean());
        Assert.Equal(Unsigned.GetProperty("pcrs").GetProperty("PCR0").GetString(), json.RootElement.GetProperty("Measurements").GetProperty("PCR0").GetString());
        Assert.Single(Directory.GetFiles(_work.FullName, "*.eif"));
    }

    [Fact]
    public void Sign_with_output_replaces_the_fixture_signature_and_leaves_the_input_alone()
    {
        var input = Write("signed-input.eif", File.ReadAllBytes(TestVectors.Derived("synthetic-signed.eif")));
        var output = Path.Combine(_work.FullName, "resigned.eif");
        var (certificate, key) = WriteSigningIdentity("resign");

        var sign = CliRunner.Run("sign", input, "--signing-certificate", certificate, "--private-key", key, "--output", output);
        var pcr8 = CliRunner.Run("pcr", "--signing-certificate", certificate);

        Assert.Equal(0, sign.ExitCode);
        Assert.Equal(File.ReadAllBytes(TestVectors.Derived("synthetic-signed.eif")), File.ReadAllBytes(input));
        using var signed = JsonDocument.Parse(sign.Stdout);
        using var expected = JsonDocument.Parse(pcr8.Stdout);
        Assert.Equal(expected.RootElement.GetProperty("PCR8").GetString(), signed.RootElement.GetProperty("Measurements").GetProperty("PCR8").GetString());
    }

    [Fact]
    public void Describe_reports_a_signature_made_for_another_image()
    {
        var (certificate, key) = WriteSigningIdentity("other");
        var signedOther = Path.Combine(_work.FullName, "other.eif");
        var inputs = ExtractFixtureInputs();
        Assert.Equal(0, CliRunner.Run(FixedEpoch, [.. BuildArguments(inputs, signedOther), "--signing-certificate", certificate, "--private-key", key]).ExitCode);
        var image = File.ReadAllBytes(signedOther);
        using (var reader = new EifReader(new MemoryStream(image)))
        {
            // Change one kernel byte and fix the CRC: the signature no longer covers PCR0.
            image[reader.Sections[0].DataOffset] ^= 1;
        }

        var result = CliRunner.Run("describe", Write("tampered.eif", FixCrc(image)));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("\"SignatureCheck\": false", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"CheckCRC\": true", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("signature does not verify", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_refuses_a_key_that_does_not_match_the_certificate()
    {
        var (certificate, _) = WriteSigningIdentity("a");
        var (_, otherKey) = WriteSigningIdentity("b");
        var output = Path.Combine(_work.FullName, "never.eif");

        var result = CliRunner.Run([.. BuildArguments(ExtractFixtureInputs(), output), "--signing-certificate", certificate, "--private-key", otherKey]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("does not belong", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        AssertNoStackTrace(result);
    }

    [Fact]
    public void Pcr_of_a_file_and_of_a_certificate_use_nitro_cli_keys()
    {
        var bytes = RandomNumberGenerator.GetBytes(3000);
        var file = Write("blob.bin", bytes);

        var input = CliRunner.Run("pcr", "--input", file);
        var certificate = CliRunner.Run("pcr", "--signing-certificate", TestVectors.Derived("synthetic-signing-cert.pem"));

        Assert.Equal($"{{\n  \"PCR\": \"{Convert.ToHexStringLower(SHA384.HashData([.. new byte[48], .. SHA384.HashData(bytes)]))}\"\n}}\n", input.Stdout);
        Assert.Equal($"{{\n  \"PCR8\": \"{Signed.GetProperty("pcrs").GetProperty("PCR8").GetString()}\"\n}}\n", certificate.Stdout);
    }

    [Theory]
    [InlineData]
    [InlineData("--input", "a", "--signing-certificate", "b")]
    public void Pcr_needs_exactly_one_source(params string[] args)
    {
        var result = CliRunner.Run(["pcr", .. args]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("exactly one", result.Stderr, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string> EndlessBuildInputs => new()
    {
        { "--kernel", ["--kernel", "/dev/zero"], "--kernel /dev/zero: not a regular file: it holds more than the 0 bytes its size says" },
        { "--ramdisk", ["--ramdisk", "/dev/zero"], "--ramdisk /dev/zero: not a regular file: it holds more than the 0 bytes its size says" },
        { "--private-key", ["--signing-certificate", "{certificate}", "--private-key", "/dev/zero"], "the private key /dev/zero: larger than the 1 MiB limit for it" },
        { "--signing-certificate", ["--signing-certificate", "/dev/zero", "--private-key", "{key}"], "the signing certificate /dev/zero: larger than the 1 MiB limit for it" },
        { "--metadata", ["--metadata", "/dev/zero"], "--metadata /dev/zero: larger than the 4 KiB limit for it" },
        { "--kernel-config", ["--kernel-config", "/dev/zero"], "--kernel-config /dev/zero: larger than the 16 MiB limit for it" },
    };

    [Theory]
    [MemberData(nameof(EndlessBuildInputs))]
    public void Build_refuses_an_endless_input_with_one_line_and_writes_nothing(string option, string[] args, string expected)
    {
        var inputs = ExtractFixtureInputs();
        var (certificate, key) = WriteSigningIdentity("endless");
        var output = Path.Combine(_work.FullName, option.TrimStart('-') + ".eif");
        var arguments = BuildArguments(inputs, output);
        for (var i = 0; i < args.Length; i += 2)
        {
            SetOption(arguments, args[i], args[i + 1].Replace("{certificate}", certificate, StringComparison.Ordinal).Replace("{key}", key, StringComparison.Ordinal));
        }

        var result = CliRunner.Run([.. arguments]);

        CliAssert.OneLineError(result, 1, expected);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Build_refuses_an_empty_kernel()
    {
        var inputs = ExtractFixtureInputs();
        var empty = Write("empty-kernel", []);
        var output = Path.Combine(_work.FullName, "empty.eif");

        var arguments = BuildArguments(inputs, output);
        SetOption(arguments, "--kernel", empty);

        var result = CliRunner.Run([.. arguments]);

        CliAssert.OneLineError(result, 1, $"--kernel {empty} is empty: an enclave needs a kernel to boot");
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("--signing-certificate")]
    [InlineData("--private-key")]
    public void Sign_refuses_an_endless_certificate_or_key_and_leaves_the_image_alone(string option)
    {
        var image = Write("unsigned.eif", File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif")));
        var (certificate, key) = WriteSigningIdentity("endless");
        string[] signing = option == "--private-key"
            ? ["--signing-certificate", certificate, "--private-key", "/dev/zero"]
            : ["--signing-certificate", "/dev/zero", "--private-key", key];

        var result = CliRunner.Run(["sign", image, .. signing]);

        CliAssert.OneLineError(result, 1, "/dev/zero: larger than the 1 MiB limit for it");
        Assert.Equal(File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif")), File.ReadAllBytes(image));
    }

    [Fact]
    public void Describe_refuses_a_signature_byte_out_of_range_naming_the_field_and_offset()
    {
        // [{"signing_certificate": [-1], "signature": [1]}] appended as a signature section, CRC fixed.
        var image = AppendSection(File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif")), EifSectionType.Signature,
            Convert.FromHexString("81a2737369676e696e675f63657274696669636174658120697369676e61747572658101"), out var dataOffset);

        var result = CliRunner.Run("describe", Write("negative.eif", image));

        CliAssert.OneLineError(result, 1, $"malformed EIF (BadSignatureSection) at byte offset {dataOffset + 23}: signature[0].signing_certificate[0] is -1, not a byte (0 to 255)");
    }

    [Fact]
    public void Describe_reports_a_section_larger_than_the_file_at_a_positive_offset()
    {
        var image = File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif"));
        var last = BinaryPrimitives.ReadUInt16BigEndian(image.AsSpan(0x1A)) - 1;
        var header = (int)BinaryPrimitives.ReadUInt64BigEndian(image.AsSpan(0x1C + (8 * last)));
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(0x11C + (8 * last)), long.MaxValue);
        BinaryPrimitives.WriteUInt64BigEndian(image.AsSpan(header + 4), long.MaxValue);

        var result = CliRunner.Run("describe", Write("huge.eif", FixCrc(image)));

        CliAssert.OneLineError(result, 1, $"malformed EIF (Truncated) at byte offset {image.Length}: the file ends inside section {last} (Ramdisk), which needs {long.MaxValue} bytes");
    }

    [Fact]
    public void Describe_fails_a_signed_image_whose_self_signed_certificate_was_tampered()
    {
        var (certificate, key) = WriteSigningIdentityWithKeyIdentifiers("tampered", issuer: null);
        var image = Write("signed.eif", File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif")));
        Assert.Equal(0, CliRunner.Run("sign", image, "--signing-certificate", certificate, "--private-key", key).ExitCode);
        var before = CliRunner.Run("describe", image);
        var tampered = Write("tampered.eif", TamperCertificate(File.ReadAllBytes(image), File.ReadAllBytes(certificate)));

        var result = CliRunner.Run("describe", tampered);

        Assert.Equal(0, before.ExitCode);
        Assert.Contains("\"SignatureCheck\": true", before.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"CheckCRC\": true", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"SignatureCheck\": false", result.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(Pcr8(before), Pcr8(result));
        CliAssert.OneLineError(result, 1, "the signing certificate (CN=tampered) names itself as its issuer, but its signature does not verify");
    }

    [Fact]
    public void Describe_checks_a_ca_issued_certificate_only_against_the_signing_ca_it_is_given()
    {
        using var ca = TestVectors.CreateCertificateAuthority("CN=cloister-cli-test-ca");
        using var otherCa = TestVectors.CreateCertificateAuthority("CN=cloister-cli-other-ca");
        var caFile = Write("ca.pem", Encoding.ASCII.GetBytes(ca.ExportCertificatePem()));
        var otherCaFile = Write("other-ca.pem", Encoding.ASCII.GetBytes(otherCa.ExportCertificatePem()));
        var (certificate, key) = WriteSigningIdentityWithKeyIdentifiers("issued", ca);
        var image = Write("issued.eif", File.ReadAllBytes(TestVectors.Derived("synthetic-unsigned.eif")));
        Assert.Equal(0, CliRunner.Run("sign", image, "--signing-certificate", certificate, "--private-key", key).ExitCode);
        var tampered = Write("issued-tampered.eif", TamperCertificate(File.ReadAllBytes(image), File.ReadAllBytes(certificate)));

        var unanchored = CliRunner.Run("describe", image);
        var anchored = CliRunner.Run("describe", image, "--signing-ca", caFile);
        var foreign = CliRunner.Run("describe", image, "--signing-ca", otherCaFile);
        var tamperedAnchored = CliRunner.Run("describe", tampered, "--signing-ca", caFile);

        Assert.True(unanchored.ExitCode == 0, unanchored.ToString());
        Assert.Contains("\"SignatureCheck\": true", unanchored.Stdout, StringComparison.Ordinal);
        Assert.Equal(
            "cloister: note: the signing certificate (CN=issued) is issued by 'CN=cloister-cli-test-ca', whose certificate was not given, so its own signature was not checked; give --signing-ca to check it\n",
            unanchored.Stderr);
        Assert.True(anchored.ExitCode == 0, anchored.ToString());
        Assert.Empty(anchored.Stderr);
        Assert.Contains("\"SignatureCheck\": true", anchored.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"SignatureCheck\": false", foreign.Stdout, StringComparison.Ordinal);
        CliAssert.OneLineError(foreign, 1, "the signing certificate (CN=issued) does not chain to a given trust anchor");
        Assert.Contains("\"SignatureCheck\": false", tamperedAnchored.Stdout, StringComparison.Ordinal);
        CliAssert.OneLineError(tamperedAnchored, 1, "the signing certificate (CN=issued) does not chain to a given trust anchor");
    }

    [Fact]
    public void Describe_refuses_an_endless_signing_ca()
    {
        CliAssert.OneLineError(CliRunner.Run("describe", TestVectors.Derived("synthetic-signed.eif"), "--signing-ca", "/dev/zero"), 1, "--signing-ca /dev/zero: larger than the 1 MiB limit for it");
    }

    private static string? Pcr8(ProcessResult describe)
    {
        using var json = JsonDocument.Parse(describe.Stdout);
        return json.RootElement.GetProperty("Measurements").GetProperty("PCR8").GetString();
    }

    /// <summary>
    /// Changes one base64 character of the certificate PEM where the signature section stores it (each byte a CBOR
    /// unsigned integer), inside the authority key identifier, and fixes the CRC: what an attacker with the file can do.
    /// </summary>
    private static byte[] TamperCertificate(byte[] image, byte[] certificatePem)
    {
        var original = SerdeBytes(certificatePem);
        var replacement = SerdeBytes(TestVectors.TamperAuthorityKeyIdentifier(certificatePem));
        Assert.Equal(original.Length, replacement.Length);
        var at = image.AsSpan().IndexOf(original);
        Assert.True(at > 0);
        replacement.CopyTo(image, at);
        return FixCrc(image);
    }

    // serde_cbor's Vec<u8>: every byte an unsigned integer, 0-23 in one byte, 24-255 as 0x18 and the byte.
    private static byte[] SerdeBytes(byte[] bytes) => [.. bytes.SelectMany(b => b < 24 ? new[] { b } : [(byte)0x18, b])];

    private static byte[] AppendSection(byte[] image, EifSectionType type, byte[] data, out long dataOffset)
    {
        var count = BinaryPrimitives.ReadUInt16BigEndian(image.AsSpan(0x1A));
        var result = new byte[image.Length + 12 + data.Length];
        image.CopyTo(result, 0);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(image.Length), (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(result.AsSpan(image.Length + 4), (ulong)data.Length);
        data.CopyTo(result, image.Length + 12);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(0x1A), (ushort)(count + 1));
        BinaryPrimitives.WriteUInt64BigEndian(result.AsSpan(0x1C + (8 * count)), (ulong)image.Length);
        BinaryPrimitives.WriteUInt64BigEndian(result.AsSpan(0x11C + (8 * count)), (ulong)data.Length);
        dataOffset = image.Length + 12;
        return FixCrc(result);
    }

    private static byte[] FixCrc(byte[] image)
    {
        var crc = new System.IO.Hashing.Crc32();
        crc.Append(image.AsSpan(0, 544));
        crc.Append(image.AsSpan(548));
        BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(544), crc.GetCurrentHashAsUInt32());
        return image;
    }

    private static void AssertNoStackTrace(ProcessResult result)
    {
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>What <c>eif build</c> prints for the fixture's inputs, with <paramref name="hashAlgorithm"/> as HashAlgorithm.</summary>
    private static string FixtureMeasurementsJson(string hashAlgorithm)
    {
        var pcrs = Unsigned.GetProperty("pcrs");
        return $"{{\n  \"Measurements\": {{\n    \"HashAlgorithm\": \"{hashAlgorithm}\",\n"
            + $"    \"PCR0\": \"{pcrs.GetProperty("PCR0").GetString()}\",\n    \"PCR1\": \"{pcrs.GetProperty("PCR1").GetString()}\",\n"
            + $"    \"PCR2\": \"{pcrs.GetProperty("PCR2").GetString()}\"\n  }}\n}}\n";
    }

    private static List<string> BuildArguments(Dictionary<string, string> inputs, string output) =>
    [
        "eif", "build", "--kernel", inputs["kernel"], "--cmdline", File.ReadAllText(inputs["cmdline"]),
        "--ramdisk", inputs["bootstrap"], "--ramdisk", inputs["customer"], "--name", "synthetic", "--version", "1.0",
        "--metadata", inputs["metadata"], "--output", output,
    ];

    /// <summary>Replaces the value of a single-valued option, or adds the option; --ramdisk is always added (one more ramdisk).</summary>
    private static void SetOption(List<string> arguments, string option, string value)
    {
        var at = option == "--ramdisk" ? -1 : arguments.IndexOf(option);
        if (at < 0)
        {
            arguments.AddRange([option, value]);
        }
        else
        {
            arguments[at + 1] = value;
        }
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_work.FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>The fixture's sections as files, plus a kernel config beside the kernel and a custom metadata file.</summary>
    private Dictionary<string, string> ExtractFixtureInputs()
    {
        var names = new[] { "kernel", "cmdline", "metadata-section", "bootstrap", "customer" };
        var paths = new Dictionary<string, string>();
        using (var reader = EifReader.Open(TestVectors.Derived("synthetic-unsigned.eif")))
        {
            for (var i = 0; i < names.Length; i++)
            {
                using var data = reader.OpenSection(reader.Sections[i]);
                using var file = File.Create(paths[names[i]] = Path.Combine(_work.FullName, names[i]));
                data.CopyTo(file);
            }
        }

        File.WriteAllText(paths["kernel"] + ".config", "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel Configuration\n");
        paths["metadata"] = Write("custom.json", Encoding.UTF8.GetBytes("""{"team": "enclaves"}"""));
        return paths;
    }

    private (string Certificate, string Key) WriteSigningIdentityWithKeyIdentifiers(string name, X509Certificate2? issuer) =>
        WriteIdentity(name, TestVectors.CreateSigningIdentityWithKeyIdentifiers($"CN={name}", issuer));

    private (string Certificate, string Key) WriteSigningIdentity(string name) =>
        WriteIdentity(name, TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP384, $"CN={name}"));

    private (string Certificate, string Key) WriteIdentity(string name, (byte[] CertificatePem, ECDsa Key) identity)
    {
        using (identity.Key)
        {
            return (Write(name + ".crt.pem", identity.CertificatePem), Write(name + ".key.pem", Encoding.ASCII.GetBytes(identity.Key.ExportECPrivateKeyPem())));
        }
    }
}
