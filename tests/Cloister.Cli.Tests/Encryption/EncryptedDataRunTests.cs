using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Cloister.Build.RuntimeBundles;
using Cloister.Cli.Tests.Provisioning;
using Cloister.Host.Tests.TestEnclave;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Encryption;

/// <summary>
/// Attestation-bound encryption end to end, everything real: a provisioner, <c>cloister keys show --output</c> and
/// <c>cloister encrypt --public-key</c> outside, and <c>cloister run</c> of images whose app posts to the crypto API on
/// 127.0.0.1:9999 inside the simulated enclave. The ciphertexts reach the app as provisioned secrets named
/// <c>CT_*</c>; the app decrypts each and prints the API's answer, then seals a value of its own and opens it again.
/// Seed 003's scenario: deployments <c>cards</c> and <c>phones</c> of one operator, and a rogue image of the same
/// operator whose measurements were never deployed.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class EncryptedDataRunTests : IClassFixture<EncryptedDataRunTests.Setup>
{
    private const string Card = """{"card":"4111 1111 1111 1111","holder":"Ada"}""";
    private readonly Setup _setup;

    public EncryptedDataRunTests(Setup setup) => _setup = setup;

    [Fact]
    public void Data_encrypted_outside_is_read_inside_its_deployments_enclave_which_also_seals_its_own()
    {
        var ciphertext = _setup.Encrypt("cards", Card);
        Assert.DoesNotContain("4111", ciphertext, StringComparison.Ordinal);
        _setup.SetSecret("cards", "CT_CARD", ciphertext);

        var run = _setup.Run(_setup.Cards);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(Card, Line(run, "CT_CARD"));
        var sealedValue = Line(run, "SEALED");
        Assert.StartsWith("""{"note":"cl:""", sealedValue, StringComparison.Ordinal);
        Assert.DoesNotContain("made inside", sealedValue, StringComparison.Ordinal);
        Assert.Equal("""{"note":"made inside"}""", Line(run, "OPENED"));
    }

    [Fact]
    public void Another_deployment_of_the_same_operator_cannot_decrypt_it()
    {
        _setup.SetSecret("phones", "CT_CARD", _setup.Encrypt("cards", Card));

        var run = _setup.Run(_setup.Phones);

        Assert.True(run.ExitCode == 0, run.ToString());
        var answer = Line(run, "CT_CARD");
        Assert.Contains("\"reason\":\"other_deployment\"", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rogue_image_whose_measurements_were_never_deployed_gets_no_keys_and_never_runs()
    {
        var run = _setup.Run(_setup.Rogue);

        Assert.True(run.ExitCode != 0, run.ToString());
        Assert.Contains("refused", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("SEALED=", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_or_cut_ciphertext_is_refused_inside_with_its_reason()
    {
        var leaf = Leaf(_setup.Encrypt("ledger", """{"n":"x"}"""), "n");
        var bytes = Base64Url.DecodeFromChars(leaf.AsSpan(3));
        bytes[^1] ^= 0x01;
        var flipped = "cl:" + Base64Url.EncodeToString(bytes);
        _setup.SetSecret("ledger", "CT_FLIPPED", $$"""{"n":"{{flipped}}"}""");
        _setup.SetSecret("ledger", "CT_CUT", $$"""{"n":"{{leaf[..40]}}"}""");

        var run = _setup.Run(_setup.Ledger);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("\"reason\":\"tampered\"", Line(run, "CT_FLIPPED"), StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"malformed\"", Line(run, "CT_CUT"), StringComparison.Ordinal);
        _setup.RemoveSecret("ledger", "CT_FLIPPED");
        _setup.RemoveSecret("ledger", "CT_CUT");
    }

    [Fact]
    public void After_a_rotation_old_and_new_ciphertexts_decrypt_and_new_ones_use_the_new_version()
    {
        var before = _setup.Encrypt("rotating", """{"v":"one"}""");
        var rotate = _setup.Operator("keys", "rotate", "rotating");
        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        var after = _setup.Encrypt("rotating", """{"v":"two"}""");
        Assert.Equal((1, 2), (KeyVersion(Leaf(before, "v")), KeyVersion(Leaf(after, "v"))));
        _setup.SetSecret("rotating", "CT_BEFORE", before);
        _setup.SetSecret("rotating", "CT_AFTER", after);

        var run = _setup.Run(_setup.Rotating);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("""{"v":"one"}""", Line(run, "CT_BEFORE"));
        Assert.Equal("""{"v":"two"}""", Line(run, "CT_AFTER"));
        Assert.Equal(2, KeyVersion(Leaf(Line(run, "SEALED"), "note")));
    }

    private static string Leaf(string json, string name)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.GetProperty(name).GetString()!;
    }

    // The key version of a `cl:` string: bytes 11 to 14 of the ciphertext (docs/encryption.md).
    private static int KeyVersion(string leaf) => (int)BinaryPrimitives.ReadUInt32BigEndian(Base64Url.DecodeFromChars(leaf.AsSpan(3)).AsSpan(11, 4));

    private static string Line(ProcessResult run, string name)
    {
        var prefix = name + "=";
        var line = run.Stdout.Split('\n').SingleOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, $"no {prefix} line in the app's output: {run}");
        return line[prefix.Length..].TrimEnd('\r');
    }

    /// <summary>One provisioner, four deployments with the crypto API (and one rogue image), a host and the key files.</summary>
    public sealed class Setup : IDisposable
    {
        // The app: each CT_* secret is posted to /decrypt and its answer printed; then a value of the app's own is
        // sealed with /encrypt and opened with /decrypt. HTTP/1.0 through busybox nc, whose -e program writes the request
        // and copies the answer to stderr: it never half-closes the connection (which Kestrel takes for an abort), and
        // the answer's body is its last line.
        private const string App = """
            printf '#!/bin/sh\nprintf "POST %%s HTTP/1.0\\r\\nContent-Type: application/json\\r\\nContent-Length: %%s\\r\\n\\r\\n%%s" "$REQUEST_PATH" "${#REQUEST_BODY}" "$REQUEST_BODY"\ncat >&2\n' >/tmp/post.sh
            chmod +x /tmp/post.sh
            post() { REQUEST_PATH=$1 REQUEST_BODY=$2 nc 127.0.0.1 9999 -e /tmp/post.sh 2>&1 | tail -n 1; }
            for name in $(set | sed -n 's/^\(CT_[A-Z_]*\)=.*/\1/p'); do eval "value=\$$name"; echo "$name=$(post /decrypt "$value")"; done
            sealed=$(post /encrypt '{"note":"made inside"}')
            echo "SEALED=$sealed"
            echo "OPENED=$(post /decrypt "$sealed")"
            """;

        private readonly ProvisionerFixture _provisioner;
        private readonly string _hostCredentials;

        public Setup()
        {
            ExternalTool.Require("bwrap", "bubblewrap");
            _provisioner = new ProvisionerFixture();
            var pin = ProvisionerCredentials.Read(_provisioner.OperatorCredentials).Pin;
            using var runtime = RuntimeBundle.Read(Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName));
            Cards = Deploy("cards", pin, runtime);
            Phones = Deploy("phones", pin, runtime);
            Ledger = Deploy("ledger", pin, runtime);
            Rotating = Deploy("rotating", pin, runtime);
            // Same operator, same deployment name, another app: its PCRs are in no set of 'cards'.
            Rogue = Build("rogue", pin, "cards", runtime, App + "\necho rogue");
            _hostCredentials = Path.Combine(_provisioner.Scratch, "host.json");
            Expect(Operator("provisioner", "host", "add", "runner", "-o", _hostCredentials));
        }

        public string Cards { get; }

        public string Phones { get; }

        public string Ledger { get; }

        public string Rotating { get; }

        public string Rogue { get; }

        internal ProcessResult Run(string image) =>
            CliRunner.Run("run", image, "--sim-root", _provisioner.SimRoot, "--provisioner-credentials", _hostCredentials, "--provisioner", _provisioner.Server.Url.ToString(), "--grace-period", "1");

        internal ProcessResult Operator(params string[] args) => _provisioner.Operator(args);

        /// <summary>`cloister encrypt` of <paramref name="json"/> with the deployment's current public key file.</summary>
        public string Encrypt(string deployment, string json)
        {
            var keyFile = Path.Combine(_provisioner.Scratch, $"{deployment}-{Guid.NewGuid():N}.json");
            Expect(Operator("keys", "show", deployment, "--output", keyFile));
            var result = CliRunner.RunWithInput(Encoding.UTF8.GetBytes(json), environment: null, "encrypt", "--deployment", deployment, "--public-key", keyFile);
            Expect(result);
            return result.Stdout.Trim();
        }

        public void SetSecret(string deployment, string name, string value) =>
            Expect(_provisioner.Operator(Encoding.UTF8.GetBytes(value), "secrets", "set", deployment, name));

        public void RemoveSecret(string deployment, string name) => Expect(Operator("secrets", "rm", deployment, name));

        public void Dispose() => _provisioner.Dispose();

        private string Deploy(string deployment, byte[] pin, RuntimeBundle runtime)
        {
            var image = Build(deployment, pin, deployment, runtime, App);
            Expect(Operator("deploy", "--deployment", deployment, "--measurements", Path.Combine(image, "measurements.json"), "--hostname", $"{deployment}.example.com"));
            return image;
        }

        private string Build(string name, byte[] pin, string deployment, RuntimeBundle runtime, string app)
        {
            var output = Path.Combine(_provisioner.Scratch, name);
            var provisioning = new ProvisioningSettings { Url = new Uri("https://127.0.0.1:1/"), PinnedSha256 = pin, TokenAudience = deployment };
            TestEnclaveImage.BuildProvisionedAsync(output, runtime, provisioning, app, new LocalApiSettings { Crypto = true }).GetAwaiter().GetResult();
            return output;
        }

        private static void Expect(ProcessResult result) => Assert.True(result.ExitCode == 0, result.ToString());
    }
}
