using System.Buffers.Binary;
using System.Security.Cryptography;
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
        Assert.Equal("Sha384 { ... }", measurements.GetProperty("HashAlgorithm").GetString());
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
        var pcrs = Unsigned.GetProperty("pcrs");
        Assert.Equal(
            "{\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha384 { ... }\",\n"
            + $"    \"PCR0\": \"{pcrs.GetProperty("PCR0").GetString()}\",\n    \"PCR1\": \"{pcrs.GetProperty("PCR1").GetString()}\",\n"
            + $"    \"PCR2\": \"{pcrs.GetProperty("PCR2").GetString()}\"\n  }}\n}}\n",
            result.Stdout);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        using var reader = EifReader.Open(first);
        var metadata = reader.ReadMetadata()!;
        Assert.Equal("2024-01-01T00:00:00+00:00", metadata.BuildTime);
        Assert.Equal(("cloister", "Linux", "4.14.256"), (metadata.BuildTool, metadata.OperatingSystem, metadata.KernelVersion));
        Assert.Equal(("synthetic", "1.0"), (metadata.ImageName, metadata.ImageVersion));
        Assert.Equal("""{"team":"enclaves"}""", metadata.CustomMetadata?.GetRawText());
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

        var crc = new System.IO.Hashing.Crc32();
        crc.Append(image.AsSpan(0, 544));
        crc.Append(image.AsSpan(548));
        BinaryPrimitives.WriteUInt32BigEndian(image.AsSpan(544), crc.GetCurrentHashAsUInt32());

        var result = CliRunner.Run("describe", Write("tampered.eif", image));

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

    private static void AssertNoStackTrace(ProcessResult result)
    {
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
    }

    private static List<string> BuildArguments(Dictionary<string, string> inputs, string output) =>
    [
        "eif", "build", "--kernel", inputs["kernel"], "--cmdline", File.ReadAllText(inputs["cmdline"]),
        "--ramdisk", inputs["bootstrap"], "--ramdisk", inputs["customer"], "--name", "synthetic", "--version", "1.0",
        "--metadata", inputs["metadata"], "--output", output,
    ];

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

    private (string Certificate, string Key) WriteSigningIdentity(string name)
    {
        var (pem, key) = TestVectors.CreateSigningIdentity(ECCurve.NamedCurves.nistP384, $"CN={name}");
        using (key)
        {
            return (Write(name + ".crt.pem", pem), Write(name + ".key.pem", Encoding.ASCII.GetBytes(key.ExportECPrivateKeyPem())));
        }
    }
}
