using System.Globalization;
using System.Text.Json;
using Cloister.Attestation.Tests;
using Cloister.Attestation.Tests.Editing;
using Cloister.Build.Eif;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

public sealed class VerifyDocCommandTests : IDisposable
{
    private static readonly AttestationVector s_prod = AttestationVectors.Get("evervault_2022-10-13_prod.cbor");
    private static readonly AttestationVector s_debugFull = AttestationVectors.Get("anjuna_2024-01-24_debug_full.cbor");
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-verify-doc-").FullName;

    [Fact]
    public void A_valid_document_prints_exactly_the_json_keys()
    {
        var result = CliRunner.Run("verify-doc", s_debugFull.FullPath, "--at", Pin(s_debugFull), "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var root = json.RootElement;
        Assert.Equal(
            ["module_id", "timestamp", "digest", "pcrs", "user_data", "nonce", "public_key"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(s_debugFull.ModuleId, root.GetProperty("module_id").GetString());
        Assert.Equal("2024-01-24T18:14:25.635Z", root.GetProperty("timestamp").GetString());
        Assert.Equal("SHA384", root.GetProperty("digest").GetString());
        Assert.Equal(
            s_debugFull.Pcrs.OrderBy(p => p.Key).Select(p => (p.Key.ToString(CultureInfo.InvariantCulture), Convert.ToHexStringLower(p.Value))),
            root.GetProperty("pcrs").EnumerateObject().Select(p => (p.Name, p.Value.GetString()!)));
        Assert.Equal(s_debugFull.UserData, root.GetProperty("user_data").GetBytesFromBase64());
        Assert.Equal(s_debugFull.Nonce, root.GetProperty("nonce").GetBytesFromBase64());
        Assert.Equal(s_debugFull.PublicKey, root.GetProperty("public_key").GetBytesFromBase64());
    }

    [Fact]
    public void Absent_optional_fields_are_json_null()
    {
        var vector = AttestationVectors.Get("anjuna_2021-03-17_prod.cbor");

        var result = CliRunner.Run("verify-doc", vector.FullPath, "--at", "2021-03-17T22:02:00", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("nonce").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("user_data").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("public_key").ValueKind);
    }

    [Fact]
    public void Without_json_a_table_shows_the_document_and_its_chain()
    {
        var result = CliRunner.Run("verify-doc", s_prod.FullPath, "--at", Pin(s_prod));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(s_prod.ModuleId, result.Stdout, StringComparison.Ordinal);
        Assert.Contains("PCR15", result.Stdout, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexStringLower(s_prod.Pcrs[8]), result.Stdout, StringComparison.Ordinal);
        Assert.Contains("256 bytes", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("CN=aws.nitro-enclaves", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("2022-10-13T11:58:02.000Z", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void An_expired_document_exits_1_with_the_reason_and_prints_nothing()
    {
        var result = CliRunner.Run("verify-doc", s_prod.FullPath, "--json");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("CertificateExpired", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData(EifMeasurements.HashAlgorithmNitroCli14)]
    [InlineData(EifMeasurements.HashAlgorithmNitroCli15)]
    public void The_right_measurements_pass_and_wrong_ones_are_a_pcr_mismatch(string hashAlgorithm)
    {
        var right = WriteMeasurements("right.json", hashAlgorithm, s_prod.Pcrs[0], s_prod.Pcrs[1], s_prod.Pcrs[2]);
        var wrong = WriteMeasurements("wrong.json", hashAlgorithm, s_prod.Pcrs[0], s_prod.Pcrs[2], s_prod.Pcrs[2]);

        var passed = CliRunner.Run("verify-doc", s_prod.FullPath, "--at", Pin(s_prod), "--pcrs", right);
        var failed = CliRunner.Run("verify-doc", s_prod.FullPath, "--at", Pin(s_prod), "--pcrs", wrong);

        Assert.True(passed.ExitCode == 0, passed.ToString());
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("PcrMismatch", failed.Stderr, StringComparison.Ordinal);
        Assert.Contains("PCR1", failed.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Nonce_and_user_data_are_checked_and_debug_mode_needs_allow_debug()
    {
        var nonce = Convert.ToHexString(s_debugFull.Nonce!);
        var userData = Convert.ToHexString(s_debugFull.UserData!);

        var allowed = CliRunner.Run("verify-doc", s_debugFull.FullPath, "--at", Pin(s_debugFull), "--nonce", nonce, "--user-data", userData, "--allow-debug");
        var refused = CliRunner.Run("verify-doc", s_debugFull.FullPath, "--at", Pin(s_debugFull), "--nonce", nonce);
        var wrongNonce = CliRunner.Run("verify-doc", s_debugFull.FullPath, "--at", Pin(s_debugFull), "--nonce", "00", "--allow-debug");

        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.Contains("YES", allowed.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("DebugModeRefused", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, wrongNonce.ExitCode);
        Assert.Contains("NonceMismatch", wrongNonce.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mock_root_is_trusted_only_when_named()
    {
        var vector = AttestationVectors.Get("oyster_2024-12-13_mockroot.cbor");

        var untrusted = CliRunner.Run("verify-doc", vector.FullPath, "--at", Pin(vector));
        var trusted = CliRunner.Run("verify-doc", vector.FullPath, "--at", Pin(vector), "--root", AttestationVectors.MockRootPemPath);

        Assert.Equal(1, untrusted.ExitCode);
        Assert.Contains("UntrustedRoot", untrusted.Stderr, StringComparison.Ordinal);
        Assert.True(trusted.ExitCode == 0, trusted.ToString());
    }

    [Fact]
    public void A_garbage_file_exits_1_without_a_stack_trace()
    {
        var garbage = Path.Combine(_directory, "garbage.cbor");
        File.WriteAllBytes(garbage, [0x84, 0x44, 0xA1, 0x01, 0x38, 0x22, 0xA0, 0x59, 0xFF]);

        var result = CliRunner.Run("verify-doc", garbage);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Malformed", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_signature_exits_1()
    {
        var vector = AttestationVectors.Get("eternis_2024-07-23_debug_BADSIG.cbor");

        var result = CliRunner.Run("verify-doc", vector.FullPath, "--at", Pin(vector));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("BadSignature", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--no-such-option")]
    [InlineData("--at", "yesterday")]
    [InlineData("--at", "2024-13-01T00:00:00Z")]
    [InlineData("--nonce", "xyz")]
    [InlineData("--user-data", "abc")]
    public void Usage_errors_exit_2(params string[] options)
    {
        var result = CliRunner.Run(["verify-doc", s_prod.FullPath, .. options]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_exits_2()
    {
        var result = CliRunner.Run("verify-doc", Path.Combine(_directory, "missing.cbor"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("missing.cbor", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"Measurements":{}}""")]
    [InlineData("""{"Measurements":{"PCR0":"nothex"}}""")]
    [InlineData("""not json""")]
    public void A_malformed_or_empty_pcr_file_exits_2(string json)
    {
        var path = Path.Combine(_directory, "pcrs.json");
        File.WriteAllText(path, json);

        var result = CliRunner.Run("verify-doc", s_prod.FullPath, "--at", Pin(s_prod), "--pcrs", path);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--pcrs", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_root_file_without_a_certificate_exits_2()
    {
        var path = Path.Combine(_directory, "root.pem");
        File.WriteAllText(path, "not a certificate");

        var result = CliRunner.Run("verify-doc", s_prod.FullPath, "--root", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--root", result.Stderr, StringComparison.Ordinal);
    }

    public static TheoryData<byte[], string> HostileModuleIds => new()
    {
        { [.. "a\0b\nc\u001b[31m"u8], "Malformed: payload.module_id: character 1 is byte 0x00" },
        { [.. "i-0abc"u8, 0xFF, 0xFE], "Malformed: payload.module_id: character 6 is byte 0xff" },
        // 64 KiB: a 1 MiB module_id makes the whole document larger than verify-doc reads (docs/limits.md).
        { [.. Enumerable.Repeat((byte)'i', 1 << 16)], "FieldTooLarge: payload.module_id: 65536 exceeds the limit of 256" },
    };

    [Theory]
    [MemberData(nameof(HostileModuleIds))]
    public void A_correctly_signed_document_with_a_hostile_module_id_is_refused(byte[] moduleId, string reason)
    {
        using var pki = TestPki.Create();
        var document = Write("hostile.cbor", pki.Sign(CoseEdit.Of(pki.Sign()).SetRawText("module_id", moduleId).Payload()));

        var result = CliRunner.Run("verify-doc", document, "--root", Write("root.pem", pki.Root.ExportCertificatePem()), "--at", TestPkiTime);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"cloister: invalid attestation document: {reason}", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public void Certificate_names_are_printed_with_their_control_characters_escaped()
    {
        using var pki = TestPki.Create(new PkiShape { RootSubject = "CN=\"evil\u001b[31m\nroot\"" });
        var document = Write("signed.cbor", pki.Sign());

        var result = CliRunner.Run("verify-doc", document, "--root", Write("root.pem", pki.Root.ExportCertificatePem()), "--at", TestPkiTime);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("evil\\x1b[31m\\nroot", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', result.Stdout);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string TestPkiTime => TestPki.NotBefore.AddMinutes(2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private string Write(string name, string content) => Write(name, System.Text.Encoding.UTF8.GetBytes(content));

    private static string Pin(AttestationVector vector) => vector.PinTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private string WriteMeasurements(string name, string hashAlgorithm, byte[] pcr0, byte[] pcr1, byte[] pcr2)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, $$$"""
            {"Measurements":{"HashAlgorithm":"{{{hashAlgorithm}}}","PCR0":"{{{Convert.ToHexString(pcr0)}}}","PCR1":"{{{Convert.ToHexStringLower(pcr1)}}}","PCR2":"{{{Convert.ToHexString(pcr2)}}}"}}
            """);
        return path;
    }
}
