using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Cloister.Cli.Commands;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;
using Cloister.Provisioner.Api;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary>
/// <c>cloister encrypt --public-key FILE</c> through the real CLI: what it writes, the deployment's key ring decrypts;
/// every bad input is one line. (The provisioner source awaits <c>GET /v1/deployments/{name}/keys</c>; the checks of
/// its answer are tested below on the answer itself.)
/// </summary>
public sealed class EncryptCommandTests : IDisposable
{
    // The credentials variable is cleared so a key source is only what each test passes.
    private static readonly Dictionary<string, string> s_environment = new() { ["CLOISTER_CREDENTIALS"] = "" };

    private readonly DeploymentKeyRing _ring = new("cards", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
    private readonly TempRunDirectory _directory = new();
    private readonly string _keyFile;

    public EncryptCommandTests()
    {
        _keyFile = Path.Combine(_directory.Path, "cards.json");
        File.WriteAllBytes(_keyFile, _ring.CurrentPublicKey.ToJson());
    }

    public void Dispose()
    {
        _ring.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public void Every_string_leaf_becomes_a_ciphertext_the_deployment_decrypts()
    {
        var json = """{"card":{"number":"4111 1111 1111 1111","cvc":123,"ok":true},"names":["Ann","Bob"],"none":null}""";

        var result = Encrypt(Encoding.UTF8.GetBytes(json));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        Assert.EndsWith("}\n", result.Stdout, StringComparison.Ordinal);
        var output = JsonNode.Parse(result.Stdout)!;
        string[] strings = [(string)output["card"]!["number"]!, (string)output["names"]![0]!, (string)output["names"]![1]!];
        Assert.All(strings, value => Assert.StartsWith("cl:", value, StringComparison.Ordinal));
        Assert.Equal(123, (int)output["card"]!["cvc"]!);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(Decrypt(result.Stdout))));
    }

    [Fact]
    public void A_document_whose_output_spans_many_writes_decrypts_whole()
    {
        // About 190 bytes of ciphertext string per leaf: over a megabyte of output, written block by block.
        var json = "[" + string.Join(",", Enumerable.Range(0, 6000).Select(i => $"\"v{i}\"")) + "]";

        var result = Encrypt(Encoding.UTF8.GetBytes(json));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(result.Stdout.Length > 1 << 20, $"{result.Stdout.Length} bytes");
        Assert.Equal(json, Decrypt(result.Stdout));
    }

    [Fact]
    public void With_all_leaves_numbers_and_booleans_are_encrypted_too_and_decrypt_to_their_kind()
    {
        var json = """{"cvc":123,"ok":true,"name":"Ann"}""";

        var result = Encrypt(Encoding.UTF8.GetBytes(json), "--leaves", "all");

        Assert.True(result.ExitCode == 0, result.ToString());
        var output = JsonNode.Parse(result.Stdout)!;
        Assert.StartsWith("cl:", (string)output["cvc"]!, StringComparison.Ordinal);
        Assert.StartsWith("cl:", (string)output["ok"]!, StringComparison.Ordinal);
        Assert.Equal(json, Decrypt(result.Stdout));
    }

    [Fact]
    public void Raw_input_is_encrypted_whole_to_a_binary_ciphertext()
    {
        var input = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        var (exitCode, stdout, stderr) = CliRunner.RunWithBinaryOutput(input, s_environment, "encrypt", "--deployment", "cards", "--public-key", _keyFile, "--raw");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(input.Length + 140, stdout.Length);
        using var decryptor = _ring.CreateDecryptor();
        Assert.Equal(input, decryptor.Decrypt(stdout, out var kind));
        Assert.Equal(PlaintextKind.Bytes, kind);
    }

    [Fact]
    public void Text_input_becomes_one_ciphertext_string_of_the_value_without_its_newline()
    {
        var result = Encrypt("4111 1111 1111 1111\n"u8.ToArray(), "--text");

        Assert.True(result.ExitCode == 0, result.ToString());
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(line + "\n", result.Stdout);
        using var decryptor = _ring.CreateDecryptor();
        Assert.Equal("4111 1111 1111 1111", Encoding.UTF8.GetString(decryptor.DecryptString(line, out var kind)));
        Assert.Equal(PlaintextKind.String, kind);
    }

    [Fact]
    public void Another_deployments_key_file_is_refused_naming_both()
    {
        var result = CliRunner.RunWithInput("{}"u8.ToArray(), s_environment, "encrypt", "--deployment", "phones", "--public-key", _keyFile);

        CliAssert.OneLineError(result, 1, $"--public-key {_keyFile} is the key of deployment 'cards', not of --deployment 'phones'");
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void A_missing_key_file_is_a_usage_error_naming_it()
    {
        var missing = Path.Combine(_directory.Path, "absent.json");

        var result = CliRunner.RunWithInput("{}"u8.ToArray(), s_environment, "encrypt", "--deployment", "cards", "--public-key", missing);

        CliAssert.OneLineError(result, 2, $"--public-key: no such file: {missing}");
    }

    [Fact]
    public void A_key_file_that_is_not_one_is_refused_with_its_path()
    {
        var path = Path.Combine(_directory.Path, "bad.json");
        File.WriteAllText(path, """{"deployment": "cards"}""");

        var result = CliRunner.RunWithInput("{}"u8.ToArray(), s_environment, "encrypt", "--deployment", "cards", "--public-key", path);

        CliAssert.OneLineError(result, 1, $"{path}: public key file: 'key_id' is missing");
    }

    [Theory]
    [InlineData("--provisioner https://127.0.0.1:1", "give --public-key FILE or a provisioner")]
    [InlineData("--credentials /dev/null", "give --public-key FILE or a provisioner")]
    [InlineData("--raw --text", "give --raw or --text, not both")]
    [InlineData("--raw --leaves all", "--leaves is for JSON input")]
    [InlineData("--leaves some", "some")]
    public void Contradictory_options_are_usage_errors(string options, string expected)
    {
        var result = CliRunner.RunWithInput("{}"u8.ToArray(), s_environment, ["encrypt", "--deployment", "cards", "--public-key", _keyFile, .. options.Split(' ')]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void Without_a_key_file_or_credentials_there_is_no_key_to_encrypt_with()
    {
        var result = CliRunner.RunWithInput("{}"u8.ToArray(), s_environment, "encrypt", "--deployment", "cards");

        CliAssert.OneLineError(result, 2, "no public key: give --public-key FILE, or the provisioner's credentials");
    }

    [Fact]
    public void Invalid_json_is_refused_with_its_byte_offset_and_nothing_on_stdout()
    {
        var result = Encrypt("""{"a":"secret","b":}"""u8.ToArray());

        CliAssert.OneLineError(result, 1, "stdin is not valid JSON at byte 18");
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public void Empty_stdin_is_no_document()
    {
        CliAssert.OneLineError(Encrypt([]), 1, "stdin is empty: no JSON document to encrypt");
    }

    [Fact]
    public void Text_that_is_not_utf8_is_refused()
    {
        var result = Encrypt([0x41, 0xff, 0x42], "--text");

        CliAssert.OneLineError(result, 1, "--text: stdin is not UTF-8 text (at byte 1)");
    }

    [Fact]
    public void Stdin_over_the_limit_is_refused_with_one_line()
    {
        var result = Encrypt(new byte[EncryptCommand.MaxInputSize + 1], "--raw");

        CliAssert.OneLineError(result, 1, "stdin holds more than 64 MiB, the most cloister encrypt reads");
        Assert.Equal("", result.Stdout);
    }

    private ProcessResult Encrypt(byte[] stdin, params string[] options) =>
        CliRunner.RunWithInput(stdin, s_environment, ["encrypt", "--deployment", "cards", "--public-key", _keyFile, .. options]);

    private string Decrypt(string json)
    {
        var output = new ArrayBufferWriter<byte>();
        using var decryptor = _ring.CreateDecryptor();
        JsonLeafCipher.Decrypt(Encoding.UTF8.GetBytes(json.TrimEnd('\n')), decryptor, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}

/// <summary>What <c>cloister encrypt</c> accepts of the provisioner's <c>GET /v1/deployments/{name}/keys</c> answer.</summary>
public sealed class EncryptCommandProvisionerKeyTests : IDisposable
{
    private readonly DeploymentKey _first = DeploymentKey.Generate(1);
    private readonly DeploymentKey _second = DeploymentKey.Generate(2);
    private readonly DeploymentKeyId _keyId = DeploymentKeyId.New();

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    [Fact]
    public void The_current_version_is_the_key_used()
    {
        var key = EncryptCommand.PublicKeyOf(View("cards", 2), "cards");

        Assert.Equal(2, key.Version);
        Assert.Equal(_keyId, key.KeyId);
        Assert.Equal(_second.PublicKey, key.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void Another_deployments_answer_is_refused()
    {
        var ex = Assert.Throws<CommandFailedException>(() => EncryptCommand.PublicKeyOf(View("phones", 2), "cards"));

        Assert.Equal("the provisioner answered the keys of deployment 'phones', not 'cards'", ex.Message);
    }

    [Fact]
    public void A_current_version_the_answer_does_not_list_is_refused()
    {
        var ex = Assert.Throws<CommandFailedException>(() => EncryptCommand.PublicKeyOf(View("cards", 3), "cards"));

        Assert.Contains("do not list their current version 3 once", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fingerprint_that_is_not_the_keys_is_refused()
    {
        var view = View("cards", 2, fingerprint: new string('0', 64));

        var ex = Assert.Throws<CommandFailedException>(() => EncryptCommand.PublicKeyOf(view, "cards"));

        Assert.Equal(ExitCodes.Invalid, ex.ExitCode);
        Assert.Contains($"not the {new string('0', 64)} it states", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_is_not_p384_is_refused()
    {
        using var p256 = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var view = View("cards", 2, publicKey: p256.ExportSubjectPublicKeyInfo());

        var ex = Assert.Throws<CommandFailedException>(() => EncryptCommand.PublicKeyOf(view, "cards"));

        Assert.Contains("key version 2 of 'cards': the public key is not a P-384 SubjectPublicKeyInfo", ex.Message, StringComparison.Ordinal);
    }

    private DeploymentKeysView View(string deployment, int current, string? fingerprint = null, byte[]? publicKey = null) => new()
    {
        Deployment = deployment,
        KeyId = _keyId.ToString(),
        CurrentVersion = current,
        Versions =
        [
            Version(_first, _first.PublicKey, null),
            Version(_second, publicKey ?? _second.PublicKey, fingerprint),
        ],
    };

    private static PublicKeyVersion Version(DeploymentKey key, byte[] publicKey, string? fingerprint) => new()
    {
        Version = key.Version,
        PublicKey = publicKey,
        Fingerprint = fingerprint ?? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(publicKey)),
        CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
