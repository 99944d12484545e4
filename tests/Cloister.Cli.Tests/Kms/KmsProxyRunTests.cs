using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Cloister.Attestation.Simulation;
using Cloister.Build.RuntimeBundles;
using Cloister.Host.Simulation;
using Cloister.Kms.TestServer;
using Cloister.Runtime.Manifest;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Kms;

/// <summary>
/// KMS with attestation end to end, everything but AWS real: unchanged AWS SDKs (.NET and JavaScript) inside the
/// simulated enclave call the supervisor's KMS proxy on 127.0.0.1:9000, which attests, signs with the host's
/// credentials (vsock 7004) and reaches the test KMS over TLS through the host's egress forwarder. The test KMS trusts
/// the simulator's root and holds the key policy <c>cloister trust --kms-policy</c> printed for the image.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class KmsProxyRunTests : IClassFixture<KmsProxyRunTests.Setup>
{
    private static readonly string[] s_fiveAndTheirHelpers = ["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom"];
    private readonly Setup _setup;

    public KmsProxyRunTests(Setup setup) => _setup = setup;

    [Theory]
    [InlineData("js")]
    [InlineData("dotnet")]
    public void All_five_operations_round_trip_from_an_unchanged_sdk_through_the_proxy(string app)
    {
        _setup.Kms.ResetCounters();

        var run = _setup.Run(app == "js" ? _setup.Js : _setup.Dotnet);

        Assert.True(run.ExitCode == 0, run.ToString());
        var plaintext = Convert.ToBase64String("cloister kms round trip"u8);
        Assert.Matches($"(?m)^KMS {app} Decrypt OK plaintext={Regex.Escape(plaintext)} key_id={Regex.Escape(_setup.Kms.SymmetricKeyArn)}$", run.Stdout);
        Assert.Matches($"(?m)^KMS {app} GenerateDataKey OK plaintext_bytes=32 matches_ciphertext=yes ", run.Stdout);
        Assert.Matches($"(?m)^KMS {app} GenerateDataKeyPair OK key_pair_spec=\\S+ private_matches_public=yes matches_ciphertext=yes ", run.Stdout);
        Assert.Matches($"(?m)^KMS {app} DeriveSharedSecret OK shared_secret_bytes=32 matches_local_ecdh=yes key_id={Regex.Escape(_setup.Kms.KeyAgreementKeyArn)}$", run.Stdout);
        Assert.Matches($"(?m)^KMS {app} GenerateRandom OK random_bytes=32 ", run.Stdout);
        // KMS saw an attestation document on each of the five, so it answered only for the enclave's key.
        foreach (var action in s_fiveAndTheirHelpers.Where(action => action != "Encrypt"))
        {
            Assert.True(_setup.Kms.RecipientCallCount(action) > 0, $"{action} reached KMS without a Recipient\n{run}");
        }

        Assert.Equal(0, _setup.Kms.RecipientCallCount("Encrypt"));
        Assert.Contains("kms_proxy: serving 127.0.0.1:9000", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_policy_from_cloister_trust_refuses_the_same_app_with_one_byte_changed()
    {
        var run = _setup.Run(_setup.OneByteChanged);

        Assert.Matches("(?m)^KMS js Decrypt ERROR AccessDeniedException .*kms:RecipientAttestation:", run.Stdout);
        Assert.Matches("(?m)^KMS js GenerateRandom ERROR AccessDeniedException ", run.Stdout);
        // Encrypt takes no Recipient, so the attestation conditions do not apply to it: the policy's own business.
        Assert.DoesNotMatch("(?m)^KMS js Decrypt OK", run.Stdout);
    }

    [Fact]
    public void Actions_and_keys_the_manifest_does_not_name_are_refused_inside_with_their_reasons()
    {
        _setup.Kms.ResetCounters();

        var run = _setup.Run(_setup.Narrow);

        Assert.Matches("(?m)^KMS js Decrypt OK ", run.Stdout);
        Assert.Matches("(?m)^KMS js GenerateRandom ERROR AccessDeniedException cloister kms_proxy: GenerateRandom is not in kms_proxy.allow ", run.Stdout);
        Assert.Matches("(?m)^KMS js DeriveSharedSecret ERROR AccessDeniedException cloister kms_proxy: KeyId '" + Regex.Escape(_setup.Kms.KeyAgreementKeyArn) + "' is not in kms_proxy.keys", run.Stdout);
        // Refused inside the enclave: KMS never saw them.
        Assert.Equal(0, _setup.Kms.CallCount("GenerateRandom"));
        Assert.Equal(0, _setup.Kms.CallCount("DeriveSharedSecret"));
    }

    // "key": KMS answers another KeyId than asked (key substitution). "recipient": KMS encrypts to another enclave's
    // RSA key (what a replayed or swapped document would get).
    [Theory]
    [InlineData("key", "js", "Decrypt", "GenerateDataKey")]
    [InlineData("recipient", "dotnet", "Decrypt", "GenerateRandom")]
    public void An_answer_kms_did_not_make_for_this_request_is_refused(string substitution, string app, string first, string second)
    {
        using var otherEnclave = RSA.Create(2048);
        if (substitution == "key")
        {
            _setup.Kms.AnswerKeyId = _setup.Kms.KeyAgreementKeyArn;
        }
        else
        {
            _setup.Kms.RecipientKeyOverride = otherEnclave.ExportSubjectPublicKeyInfo();
        }

        try
        {
            var run = _setup.Run(app == "js" ? _setup.Js : _setup.Dotnet);

            foreach (var action in new[] { first, second })
            {
                Assert.Matches($"(?m)^KMS {app} {action} ERROR KMSProxyResponseRefusedException cloister kms_proxy: ", run.Stdout);
            }

            Assert.DoesNotMatch($"(?m)^KMS {app} ({first}|{second}) OK", run.Stdout);
        }
        finally
        {
            _setup.Kms.AnswerKeyId = null;
            _setup.Kms.RecipientKeyOverride = null;
        }
    }

    [Fact]
    public void A_ciphertext_made_under_another_encryption_context_is_refused_by_kms()
    {
        var sealedUnderA = _setup.Run(_setup.SealUnderContextA);
        var ciphertext = Regex.Match(sealedUnderA.Stdout, "(?m)^KMS js Encrypt OK ciphertext=(\\S+) ").Groups[1].Value;
        Assert.True(ciphertext.Length > 0, sealedUnderA.ToString());
        var openUnderB = _setup.BuildAdmitted("open-b", "--ops", "Decrypt", "--ciphertext", ciphertext, "--context", """{"purpose":"b"}""");

        var run = _setup.Run(openUnderB);

        Assert.Matches("(?m)^KMS js Decrypt ERROR InvalidCiphertextException ", run.Stdout);
    }

    /// <summary>
    /// One test KMS and the images: the two apps with the five operations allowed; the JS app with one file more
    /// (another PCR0, never put in the policy); the JS app under a narrower manifest (Encrypt, Decrypt and
    /// DeriveSharedSecret, the symmetric key only); the JS app sealing under one encryption context.
    /// </summary>
    public sealed class Setup : IDisposable
    {
        private const string CaPath = "/etc/kms-ca.pem";
        private static readonly string[] s_allowed = [.. s_fiveAndTheirHelpers, "GetPublicKey"];
        private readonly TempRunDirectory _directory = new();
        private readonly SimulatedNitroRoot _root;
        private readonly Dictionary<string, string> _hostCredentials;
        private readonly RuntimeBundle _runtime;
        private readonly List<string> _statements = [];

        public Setup()
        {
            ExternalTool.Require("bwrap", "bubblewrap");
            SimRoot = Path.Combine(_directory.Path, "sim");
            _root = SimulatedRootStore.LoadOrCreate(SimRoot, out _);
            Kms = KmsTestServer.StartAsync(new KmsTestServerOptions { AttestationRoot = _root.Certificate }).GetAwaiter().GetResult();
            _hostCredentials = new Dictionary<string, string>
            {
                ["AWS_ACCESS_KEY_ID"] = Kms.Options.Credentials.AccessKeyId,
                ["AWS_SECRET_ACCESS_KEY"] = Kms.Options.Credentials.SecretAccessKey,
            };
            _runtime = RuntimeBundle.Read(Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName));
            Js = BuildAdmitted("js", KmsAppImage.JsCommand(KeyArguments), s_allowed, [Kms.SymmetricKeyArn, Kms.KeyAgreementKeyArn]);
            Dotnet = BuildAdmitted("dotnet", KmsAppImage.DotnetCommand(KeyArguments), s_allowed, [Kms.SymmetricKeyArn, Kms.KeyAgreementKeyArn]);
            OneByteChanged = Build("changed", KmsAppImage.JsCommand(KeyArguments), s_allowed, [Kms.SymmetricKeyArn, Kms.KeyAgreementKeyArn], extraFile: "x");
            Narrow = BuildAdmitted(
                "narrow",
                KmsAppImage.JsCommand([.. KeyArguments, "--ops", "Encrypt,Decrypt,GenerateRandom,DeriveSharedSecret"]),
                ["Encrypt", "Decrypt", "DeriveSharedSecret", "GetPublicKey"],
                [Kms.SymmetricKeyArn]);
            SealUnderContextA = BuildAdmitted("seal-a", "--ops", "Encrypt", "--context", """{"purpose":"a"}""");
        }

        public KmsTestServer Kms { get; }

        public string SimRoot { get; }

        public string Js { get; }

        public string Dotnet { get; }

        public string OneByteChanged { get; }

        public string Narrow { get; }

        public string SealUnderContextA { get; }

        private string[] KeyArguments => ["--key", Kms.SymmetricKeyArn, "--agreement-key", Kms.KeyAgreementKeyArn];

        /// <summary>Runs <paramref name="image"/> with the host's credentials in its environment and egress to loopback allowed (the test KMS).</summary>
        internal ProcessResult Run(string image) =>
            CliRunner.Run(_hostCredentials, "run", image, "--sim-root", SimRoot, "--allow-private-egress", "--grace-period", "1");

        /// <summary>The JS app with every action allowed and <paramref name="appArguments"/> after the keys, its measurements added to the policy.</summary>
        internal string BuildAdmitted(string name, params string[] appArguments) =>
            BuildAdmitted(name, KmsAppImage.JsCommand([.. KeyArguments, .. appArguments]), s_allowed, [Kms.SymmetricKeyArn, Kms.KeyAgreementKeyArn]);

        public void Dispose()
        {
            Kms.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _runtime.Dispose();
            _root.Dispose();
            _directory.Dispose();
        }

        // The image's statement, as `cloister trust --kms-policy` prints it, joins the policy of both keys and of GenerateRandom.
        private string BuildAdmitted(string name, string[] cmd, string[] allow, string[] keys)
        {
            var image = Build(name, cmd, allow, keys);
            var trust = CliRunner.Run("trust", image, "--kms-policy");
            _statements.Add(trust.ExitCode == 0 ? trust.Stdout : throw new InvalidOperationException(trust.ToString()));
            // Encrypt and GetPublicKey take no Recipient: a real key policy gives them to whoever seals data for the
            // enclave, in a statement of their own; the attested statement never covers them.
            const string Sealing = """{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:GetPublicKey"],"Resource":"*"}""";
            var policy = $$"""{"Version":"2012-10-17","Statement":[{{Sealing}},{{string.Join(",", _statements)}}]}""";
            foreach (var key in new[] { Kms.SymmetricKeyArn, Kms.KeyAgreementKeyArn, "*" })
            {
                Kms.SetPolicy(key, policy);
            }

            return image;
        }

        private string Build(string name, string[] cmd, string[] allow, string[] keys, string? extraFile = null)
        {
            var files = new Dictionary<string, string> { [CaPath] = Kms.CaFile! };
            if (extraFile is not null)
            {
                var path = Path.Combine(_directory.Path, "extra");
                File.WriteAllText(path, extraFile);
                files["/etc/one-more-byte"] = path;
            }

            var build = KmsAppImage.BuildEifAsync(Path.Combine(_directory.Path, name), _runtime, cmd, new KmsAppImageOptions
            {
                Name = "kms-app",
                Env = new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = CaPath },
                Files = files,
                KmsProxy = new KmsProxySettings
                {
                    Region = Kms.Options.Region,
                    Allow = allow,
                    Keys = keys,
                    Endpoint = $"https://localhost:{Kms.Url.Port}",
                    CaFile = CaPath,
                },
            }).GetAwaiter().GetResult();
            return build.ImagePath;
        }
    }
}
