using System.Text.RegularExpressions;
using Cloister.Encryption.Keys;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary><c>cloister keys show|rotate</c> against a real provisioner process, as an operator runs them.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class KeysCommandsTests(ProvisionerFixture provisioner) : IClassFixture<ProvisionerFixture>
{
    [Fact]
    public void Show_prints_the_key_id_current_version_pem_and_fingerprint_and_writes_the_public_key_file()
    {
        Deploy("shown");
        var file = Path.Combine(provisioner.Scratch, "shown.pub.json");

        var shown = provisioner.Operator("keys", "show", "shown", "--output", file);

        Assert.True(shown.ExitCode == 0, shown.ToString());
        var key = DeploymentPublicKey.Parse(File.ReadAllBytes(file));
        Assert.Equal(("shown", 1), (key.Deployment, key.Version));
        Assert.Matches($@"key id\s+{key.KeyId}\n", shown.Stdout);
        Assert.Matches(@"version\s+1 \(current\)\n", shown.Stdout);
        Assert.Matches($@"fingerprint\s+{key.Fingerprint}\n", shown.Stdout);
        Assert.Contains(key.ToPem(), shown.Stdout, StringComparison.Ordinal);
        Assert.Matches($@"\nVERSION\s+CREATED\s+FINGERPRINT\n1\s+\d{{4}}-\d\d-\d\dT\S+\s+{key.Fingerprint}\n", shown.Stdout);
        Assert.Contains(file, shown.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Rotate_makes_the_next_version_which_show_then_presents_with_the_same_key_id()
    {
        Deploy("rotated");
        var before = Path.Combine(provisioner.Scratch, "rotated-1.json");
        var after = Path.Combine(provisioner.Scratch, "rotated-3.json");
        Assert.Equal(0, provisioner.Operator("keys", "show", "rotated", "--output", before).ExitCode);

        var second = provisioner.Operator("keys", "rotate", "rotated");
        var third = provisioner.Operator("keys", "rotate", "rotated");
        var shown = provisioner.Operator("keys", "show", "rotated", "-o", after);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("rotated the keys of rotated: version 2, fingerprint ", second.Stdout, StringComparison.Ordinal);
        Assert.Single(second.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(third.ExitCode == 0, third.ToString());
        var rotatedTo = RotatedLine().Match(third.Stdout);
        Assert.True(rotatedTo.Success, third.ToString());
        var (first, current) = (DeploymentPublicKey.Parse(File.ReadAllBytes(before)), DeploymentPublicKey.Parse(File.ReadAllBytes(after)));
        Assert.Equal(("3", current.Fingerprint), (rotatedTo.Groups[1].Value, rotatedTo.Groups[2].Value));
        Assert.Equal((first.KeyId, 3), (current.KeyId, current.Version));
        Assert.NotEqual(first.Fingerprint, current.Fingerprint);
        Assert.Matches($@"\n1\s+\S+\s+{first.Fingerprint}\n2\s+\S+\s+[0-9a-f]{{64}}\n3\s+\S+\s+{current.Fingerprint}\n", shown.Stdout);
        var audit = provisioner.Operator("provisioner", "audit", "--limit", "1000");
        Assert.Matches(@"keys\.create\s+rotated\s+-\s+done\s+version 1 ", audit.Stdout);
        Assert.Matches(@"keys\.rotate\s+rotated\s+-\s+done\s+version 3 ", audit.Stdout);
    }

    [Theory]
    [InlineData("show")]
    [InlineData("rotate")]
    public void An_unknown_deployment_is_one_line_and_exit_1(string subcommand)
    {
        var result = provisioner.Operator("keys", subcommand, "absent");

        CliAssert.OneLineError(result, 1, "404");
        Assert.Contains("there is no deployment 'absent'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_deployment_name_or_no_credentials_is_a_usage_error()
    {
        CliAssert.OneLineError(provisioner.Operator("keys", "show", "bad/name"), 2, "not a deployment name");
        CliAssert.OneLineError(CliRunner.Run(new Dictionary<string, string> { ["CLOISTER_CREDENTIALS"] = "" }, "keys", "rotate", "web"), 2, "--credentials");
    }

    [Fact]
    public void A_host_certificate_cannot_rotate_keys()
    {
        Deploy("guarded");
        var hostFile = Path.Combine(provisioner.Scratch, "keys-host.json");
        Assert.Equal(0, provisioner.Operator("provisioner", "host", "add", "keys-host", "-o", hostFile).ExitCode);

        var result = CliRunner.Run("keys", "rotate", "guarded", "--credentials", hostFile);

        CliAssert.OneLineError(result, 1, "403");
    }

    [Fact]
    public void Encrypt_with_the_provisioner_uses_the_current_public_key_after_a_rotation()
    {
        Deploy("fetched");
        Assert.Equal(0, provisioner.Operator("keys", "rotate", "fetched").ExitCode);
        var file = Path.Combine(provisioner.Scratch, "fetched.json");
        Assert.Equal(0, provisioner.Operator("keys", "show", "fetched", "-o", file).ExitCode);

        var encrypted = provisioner.Operator("\"4111\""u8.ToArray(), "encrypt", "--deployment", "fetched");

        Assert.True(encrypted.ExitCode == 0, encrypted.ToString());
        var leaf = System.Text.Json.JsonDocument.Parse(encrypted.Stdout).RootElement.GetString()!;
        var ciphertext = System.Buffers.Text.Base64Url.DecodeFromChars(leaf.AsSpan(3));
        var key = DeploymentPublicKey.Parse(File.ReadAllBytes(file));
        // Algorithm 2 (public key), key id and version 2 at their offsets (docs/encryption.md).
        Assert.Equal(2, ciphertext[1]);
        Assert.Equal(key.KeyId.Value, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(ciphertext.AsSpan(3)));
        Assert.Equal(2u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(ciphertext.AsSpan(11)));
        CliAssert.OneLineError(provisioner.Operator("{}"u8.ToArray(), "encrypt", "--deployment", "absent"), 1, "404");
    }

    private void Deploy(string deployment)
    {
        var result = provisioner.Operator("deploy", "--deployment", deployment, "--measurements", provisioner.Measurements($"{deployment}.json", 0x50), "--hostname", $"{deployment}.example.com");
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [GeneratedRegex(@"rotated the keys of rotated: version (\d+), fingerprint ([0-9a-f]{64})\. New ciphertexts use it; older ones still decrypt\.")]
    private static partial Regex RotatedLine();
}
