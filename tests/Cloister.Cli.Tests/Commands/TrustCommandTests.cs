using System.Text.Json;
using Cloister.Build.Cpio;
using Cloister.Build.Tests;
using Cloister.Runtime.Manifest;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary>
/// <c>cloister trust</c> end to end on the synthetic vector EIFs (no launch spec, like nitro-cli's and <c>--runtime none</c>
/// images) and on EIFs made here with <c>cloister eif build</c> whose application ramdisk carries a launch spec.
/// </summary>
public sealed class TrustCommandTests : IDisposable
{
    private const string Role = "arn:aws:iam::123456789012:role/Webserver";
    private static readonly JsonElement s_expected = TestVectors.Expected;
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-cli-trust-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Unsigned => TestVectors.Derived("synthetic-unsigned.eif");

    private static string Signed => TestVectors.Derived("synthetic-signed.eif");

    private static string ExpectedPcr(string image, string pcr) => s_expected.GetProperty(image).GetProperty("pcrs").GetProperty(pcr).GetString()!;

    [Fact]
    public void Text_lists_the_images_pcrs_one_a_line()
    {
        var result = CliRunner.Run("trust", Unsigned);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            $"PCR0  {ExpectedPcr("unsigned", "PCR0")}\nPCR1  {ExpectedPcr("unsigned", "PCR1")}\nPCR2  {ExpectedPcr("unsigned", "PCR2")}\n",
            result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Theory]
    [InlineData(new string[0], "Sha512_48 { .. }")]
    [InlineData(new[] { "--hash-algorithm-name", "nitro-cli-1.4" }, "Sha384 { ... }")]
    public void Json_is_the_measurements_object_enclaver_proposed_with_pcr8_when_signed(string[] options, string hashAlgorithm)
    {
        var result = CliRunner.Run(["trust", Signed, "--format", "json", .. options]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var pcr8 = s_expected.GetProperty("signed").GetProperty("pcrs").GetProperty("PCR8").GetString();
        Assert.Equal(
            $$"""
            {
              "Measurements": {
                "HashAlgorithm": "{{hashAlgorithm}}",
                "PCR0": "{{ExpectedPcr("unsigned", "PCR0")}}",
                "PCR1": "{{ExpectedPcr("unsigned", "PCR1")}}",
                "PCR2": "{{ExpectedPcr("unsigned", "PCR2")}}",
                "PCR8": "{{pcr8}}"
              }
            }

            """,
            result.Stdout);
    }

    [Fact]
    public void The_policy_of_an_image_with_kms_proxy_grants_the_recipient_operations_it_allows()
    {
        var image = BuildImage("payments-prod", KmsProxy("Encrypt", "GenerateRandom", "Decrypt", "DescribeKey"));

        var result = CliRunner.Run("trust", image, "--kms-policy", "--principal", Role);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        var measured = Measurements(image);
        Assert.Equal(
            $$"""
            {
              "Sid": "CloisterEnclavePaymentsProd",
              "Effect": "Allow",
              "Principal": {
                "AWS": "{{Role}}"
              },
              "Action": [
                "kms:Decrypt",
                "kms:GenerateRandom"
              ],
              "Resource": "*",
              "Condition": {
                "StringEqualsIgnoreCase": {
                  "kms:RecipientAttestation:ImageSha384": "{{measured["PCR0"]}}",
                  "kms:RecipientAttestation:PCR1": "{{measured["PCR1"]}}",
                  "kms:RecipientAttestation:PCR2": "{{measured["PCR2"]}}"
                }
              }
            }

            """,
            result.Stdout);
    }

    [Fact]
    public void An_image_without_a_launch_spec_gets_every_recipient_operation_and_a_note()
    {
        var result = CliRunner.Run("trust", Unsigned, "--kms-policy");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var statement = JsonDocument.Parse(result.Stdout);
        Assert.Equal(
            ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair", "kms:DeriveSharedSecret", "kms:GenerateRandom"],
            statement.RootElement.GetProperty("Action").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("CloisterEnclaveSynthetic", statement.RootElement.GetProperty("Sid").GetString());
        Assert.Equal("arn:aws:iam::111122223333:role/REPLACE-WITH-THE-HOST-ROLE", statement.RootElement.GetProperty("Principal").GetProperty("AWS").GetString());
        Assert.Equal(
            ["kms:RecipientAttestation:ImageSha384", "kms:RecipientAttestation:PCR1", "kms:RecipientAttestation:PCR2"],
            statement.RootElement.GetProperty("Condition").GetProperty("StringEqualsIgnoreCase").EnumerateObject().Select(p => p.Name));
        Assert.StartsWith("cloister: note: the image has no /cloister/enclave.json", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_whose_manifest_has_no_kms_proxy_gets_every_recipient_operation_and_a_note()
    {
        var image = BuildImage("plain", kmsProxy: null);

        var result = CliRunner.Run("trust", image, "--kms-policy");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var statement = JsonDocument.Parse(result.Stdout);
        Assert.Equal(5, statement.RootElement.GetProperty("Action").GetArrayLength());
        Assert.Contains("the image's manifest has no kms_proxy", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_simulation_only_image_gets_its_statement_with_a_note()
    {
        var image = BuildImage("simulated", KmsProxy("Decrypt"), cmdline: "cloister.simulation_only=1");

        var result = CliRunner.Run("trust", image, "--kms-policy");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var statement = JsonDocument.Parse(result.Stdout);
        Assert.Equal("CloisterEnclaveSimulated", statement.RootElement.GetProperty("Sid").GetString());
        Assert.Contains("is simulation-only (its kernel command line has cloister.simulation_only=1)", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_image_that_allows_no_recipient_operation_gets_no_policy()
    {
        var image = BuildImage("encrypt-only", KmsProxy("Encrypt", "DescribeKey"));

        CliAssert.OneLineError(CliRunner.Run("trust", image, "--kms-policy"), 1, "the image's kms_proxy.allow: the allowed actions name none of the operations that take a Recipient");
    }

    [Fact]
    public void Pcr8_is_pinned_from_a_signed_image_and_pcr3_and_pcr4_from_the_instance()
    {
        var result = CliRunner.Run("trust", Signed, "--kms-policy", "--pcrs", "8,0,3,4", "--principal", Role, "--instance-id", "i-1234567890abcdef0");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var examples = JsonDocument.Parse(File.ReadAllBytes(TestVectors.Derived("pcr3-pcr4-examples.json")));
        using var statement = JsonDocument.Parse(result.Stdout);
        var condition = statement.RootElement.GetProperty("Condition").GetProperty("StringEqualsIgnoreCase");
        Assert.Equal(
            [
                ("kms:RecipientAttestation:ImageSha384", ExpectedPcr("signed", "PCR0")),
                ("kms:RecipientAttestation:PCR3", examples.RootElement.GetProperty("PCR3").GetProperty("value").GetString()!),
                ("kms:RecipientAttestation:PCR4", examples.RootElement.GetProperty("PCR4").GetProperty("value").GetString()!),
                ("kms:RecipientAttestation:PCR8", ExpectedPcr("signed", "PCR8")),
            ],
            condition.EnumerateObject().Select(p => (p.Name, p.Value.GetString()!)));
    }

    [Fact]
    public void A_build_directory_is_read_through_its_measurements_and_its_eif()
    {
        var output = Path.Combine(_directory, "out");
        var image = BuildImage("dir-app", KmsProxy("Decrypt"), output);

        var measurements = CliRunner.Run("trust", output, "--format", "json");
        var policy = CliRunner.Run("trust", output, "--kms-policy");

        Assert.True(measurements.ExitCode == 0, measurements.ToString());
        Assert.Equal(File.ReadAllText(Path.Combine(output, "measurements.json")), measurements.Stdout);
        Assert.True(policy.ExitCode == 0, policy.ToString());
        Assert.Equal(CliRunner.Run("trust", image, "--kms-policy").Stdout, policy.Stdout);
    }

    [Fact]
    public void A_directory_with_only_measurements_prints_them_but_makes_no_policy()
    {
        var output = Path.Combine(_directory, "out");
        BuildImage("lonely", KmsProxy("Decrypt"), output);
        File.Delete(Path.Combine(output, "lonely.eif"));
        // cloister build adds the runtime it measured after nitro-cli's object; readers shaped for nitro-cli skip it.
        var path = Path.Combine(output, "measurements.json");
        File.WriteAllText(path, File.ReadAllText(path).TrimEnd()[..^1] + ", \"CloisterRuntime\": {\"Digest\": \"sha384:00\", \"Version\": \"1.0.0\"}}\n");

        var measurements = CliRunner.Run("trust", output);

        Assert.True(measurements.ExitCode == 0, measurements.ToString());
        Assert.Equal(3, measurements.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        CliAssert.OneLineError(CliRunner.Run("trust", output, "--kms-policy"), 1, "has no .eif beside measurements.json");
    }

    [Fact]
    public void Measurements_that_do_not_match_the_eif_beside_them_are_refused()
    {
        var output = Path.Combine(_directory, "out");
        var image = BuildImage("stale", KmsProxy("Decrypt"), output);
        var path = Path.Combine(output, "measurements.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace(Measurements(image)["PCR1"], new string('1', 96), StringComparison.Ordinal));

        CliAssert.OneLineError(CliRunner.Run("trust", output), 1, "measurements.json does not match");
    }

    [Theory]
    [InlineData("{}", "has no \"Measurements\" object")]
    [InlineData("{\"Measurements\": {\"PCR0\": \"00\"}}", "Measurements.PCR0 is not 96 hex digits")]
    [InlineData("[", "is not JSON")]
    public void A_broken_measurements_file_is_refused(string json, string expected)
    {
        File.WriteAllText(Path.Combine(_directory, "measurements.json"), json);

        CliAssert.OneLineError(CliRunner.Run("trust", _directory), 1, expected);
    }

    [Fact]
    public void A_directory_without_measurements_is_refused() =>
        CliAssert.OneLineError(CliRunner.Run("trust", _directory), 1, "has no measurements.json: give the directory cloister build -o wrote, or the .eif itself");

    [Fact]
    public void A_missing_image_is_a_usage_error() =>
        CliAssert.OneLineError(CliRunner.Run("trust", Path.Combine(_directory, "absent.eif")), 2, "no such file or directory");

    [Fact]
    public void A_file_that_is_not_an_eif_is_refused() =>
        CliAssert.OneLineError(CliRunner.Run("trust", TestVectors.Derived("synthetic-bootstrap.cpio"), "--kms-policy"), 1, "malformed EIF (BadMagic)");

    [Fact]
    public void An_eif_whose_crc_does_not_match_is_refused()
    {
        var bytes = File.ReadAllBytes(Unsigned);
        bytes[^1] ^= 0xff;
        var image = Path.Combine(_directory, "corrupt.eif");
        File.WriteAllBytes(image, bytes);

        CliAssert.OneLineError(CliRunner.Run("trust", image, "--kms-policy"), 1, "CrcMismatch");
    }

    [Fact]
    public void An_unsigned_image_has_no_pcr8_to_pin() =>
        CliAssert.OneLineError(CliRunner.Run("trust", Unsigned, "--kms-policy", "--pcrs", "0,8"), 1, "the image is not signed: it has no PCR8 to pin");

    [Theory]
    [InlineData(new[] { "--kms-policy", "--pcrs", "1,2" }, "PCR0 is always pinned")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,5" }, "--pcrs: '5' is not a PCR a key policy can pin")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,,1" }, "--pcrs: '' is not a PCR")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,+1" }, "--pcrs: '+1' is not a PCR")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,1,1" }, "PCR1 is listed twice")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,3" }, "--pcrs 3 pins the parent instance's IAM role")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,3", "--principal", "arn:aws:iam::123456789012:user/ops" }, "--pcrs 3 pins the parent instance's IAM role")]
    [InlineData(new[] { "--kms-policy", "--pcrs", "0,4", "--instance-id", "i-12" }, "--pcrs 4 pins the parent instance")]
    [InlineData(new[] { "--kms-policy", "--instance-id", "i-1234567890abcdef0" }, "--instance-id names PCR4: add 4 to --pcrs")]
    [InlineData(new[] { "--kms-policy", "--principal", "111122223333" }, "--principal: '111122223333' is not an IAM principal ARN")]
    [InlineData(new[] { "--kms-policy", "--format", "text" }, "--kms-policy prints the statement as JSON")]
    [InlineData(new[] { "--pcrs", "0,1,2" }, "--pcrs shapes the key policy statement: give --kms-policy")]
    [InlineData(new[] { "--principal", Role }, "--principal shapes the key policy statement")]
    public void Bad_options_are_usage_errors(string[] options, string expected) =>
        CliAssert.OneLineError(CliRunner.Run(["trust", Unsigned, .. options]), 2, expected);

    private static KmsProxySettings KmsProxy(params string[] allow) => new()
    {
        Region = "us-east-1",
        Allow = allow,
        Keys = ["alias/payments"],
    };

    private static Dictionary<string, string> Measurements(string image)
    {
        var result = CliRunner.Run("trust", image, "--format", "json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        return json.RootElement.GetProperty("Measurements").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    /// <summary>
    /// An EIF whose application ramdisk holds <c>cmd</c> and the launch spec <c>cloister build</c> would write for a manifest
    /// named <paramref name="name"/> with <paramref name="kmsProxy"/>, made with <c>cloister eif build</c> into
    /// <paramref name="output"/> (beside the measurements.json it prints, as <c>cloister build -o</c> leaves them).
    /// </summary>
    private string BuildImage(string name, KmsProxySettings? kmsProxy, string? output = null, string cmdline = "console=ttyS0")
    {
        output ??= Path.Combine(_directory, name);
        Directory.CreateDirectory(output);
        var customer = Path.Combine(_directory, name + ".cpio");
        using (var file = File.Create(customer))
        using (var cpio = new CpioWriter(file))
        {
            cpio.WriteFile("cmd", 0b110_100_100, new MemoryStream("/cloister/bin/cloister-enclave\n"u8.ToArray()));
            cpio.WriteDirectory("rootfs", 0b111_101_101);
            cpio.WriteDirectory("rootfs/cloister", 0b111_101_101);
            var spec = new EnclaveLaunchSpec
            {
                Manifest = new EnclaveManifest { Name = name, Image = "oci-layout:./image:v1", KmsProxy = kmsProxy },
                Image = new ImageRunConfig { Cmd = ["/app"] },
            };
            cpio.WriteFile("rootfs" + EnclavePaths.LaunchSpec, 0b110_100_100, new MemoryStream(EnclaveLaunchSpecJson.Serialize(spec)));
            cpio.Finish();
        }

        var kernel = Path.Combine(_directory, "kernel");
        File.WriteAllBytes(kernel, Enumerable.Repeat((byte)0x5a, 4096).ToArray());
        var image = Path.Combine(output, name + ".eif");
        var build = CliRunner.Run(
            "eif", "build", "--kernel", kernel, "--cmdline", cmdline, "--ramdisk", TestVectors.Derived("synthetic-bootstrap.cpio"),
            "--ramdisk", customer, "--name", "not-the-manifest-name", "--output", image);
        Assert.True(build.ExitCode == 0, build.ToString());
        File.WriteAllText(Path.Combine(output, "measurements.json"), build.Stdout);
        return image;
    }
}
