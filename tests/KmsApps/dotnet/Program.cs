// A test app for Cloister's KMS proxy: the unchanged AWS SDK for .NET with only its ServiceURL overridden. It runs each
// operation it is asked for and prints one line per operation (tests/KmsApps/README.md has the format), checking each
// answer with what it can compute itself, so a test asserts real results and not only "no error".
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Cloister.KmsApps;

try
{
    var settings = AppSettings.Parse(args);
    if (settings.Mode == AppMode.VersionCheck)
    {
        return KmsApp.VersionCheck(settings);
    }

    using var app = new KmsApp(settings);
    return settings.Mode == AppMode.Bench ? await app.BenchAsync() : await app.RunAsync();
}
catch (UsageException ex)
{
    await Console.Error.WriteLineAsync($"kms-app: {ex.Message}");
    return 2;
}
catch (Exception ex) when (KmsApp.IsCallFailure(ex) || ex is CryptographicException)
{
    await Console.Error.WriteLineAsync($"kms-app: {KmsApp.ErrorName(ex)}: {KmsApp.Describe(ex)}");
    return 1;
}

namespace Cloister.KmsApps
{
    internal enum AppMode
    {
        Run,
        Bench,
        VersionCheck,
    }

    /// <summary>A command-line mistake: exit 2 with its message.</summary>
    internal sealed class UsageException(string message) : Exception(message);

    /// <summary>The app's settings: each option, or else its environment variable, or else its default.</summary>
    internal sealed record AppSettings
    {
        public static readonly string[] Operations = ["Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom"];

        private static readonly Dictionary<string, string> s_options = new(StringComparer.Ordinal)
        {
            ["--endpoint"] = "KMS_ENDPOINT",
            ["--region"] = "KMS_REGION",
            ["--key"] = "KMS_KEY",
            ["--agreement-key"] = "KMS_AGREEMENT_KEY",
            ["--agreement-public-key"] = "KMS_AGREEMENT_PUBLIC_KEY",
            ["--context"] = "KMS_CONTEXT",
            ["--ciphertext"] = "KMS_CIPHERTEXT",
            ["--plaintext"] = "KMS_PLAINTEXT",
            ["--ops"] = "KMS_OPS",
            ["--calls"] = "KMS_CALLS",
            ["--concurrency"] = "KMS_CONCURRENCY",
            ["--access-key-id"] = "KMS_ACCESS_KEY_ID",
            ["--secret-access-key"] = "KMS_SECRET_ACCESS_KEY",
        };

        public AppMode Mode { get; private init; }

        public required string Endpoint { get; init; }

        public required string Region { get; init; }

        public string? Key { get; private init; }

        public string? AgreementKey { get; private init; }

        public byte[]? AgreementPublicKey { get; private init; }

        public Dictionary<string, string>? Context { get; private init; }

        public byte[]? Ciphertext { get; private init; }

        public required byte[] Plaintext { get; init; }

        public required string[] Ops { get; init; }

        public int Calls { get; private init; }

        public int Concurrency { get; private init; }

        public required string AccessKeyId { get; init; }

        public required string SecretAccessKey { get; init; }

        /// <exception cref="UsageException">An unknown argument, a missing value or a value that does not parse.</exception>
        public static AppSettings Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (option, variable) in s_options)
            {
                if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
                {
                    values[option] = value;
                }
            }

            var mode = AppMode.Run;
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--version-check")
                {
                    mode = AppMode.VersionCheck;
                }
                else if (args[i] == "bench")
                {
                    mode = AppMode.Bench;
                }
                else if (s_options.ContainsKey(args[i]))
                {
                    values[args[i]] = i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value");
                }
                else
                {
                    throw new UsageException($"unknown argument '{args[i]}'");
                }
            }

            var ops = values.GetValueOrDefault("--ops", string.Join(',', Operations)).Split(',', StringSplitOptions.RemoveEmptyEntries);
            if (ops.FirstOrDefault(op => !Operations.Contains(op)) is { } unknown)
            {
                throw new UsageException($"--ops: '{unknown}' is not one of {string.Join(", ", Operations)}");
            }

            return new AppSettings
            {
                Mode = mode,
                Endpoint = values.GetValueOrDefault("--endpoint", "http://127.0.0.1:9000"),
                Region = values.GetValueOrDefault("--region", "us-east-1"),
                Key = values.GetValueOrDefault("--key"),
                AgreementKey = values.GetValueOrDefault("--agreement-key"),
                AgreementPublicKey = Base64(values, "--agreement-public-key"),
                Context = values.TryGetValue("--context", out var context) ? ParseContext(context) : null,
                Ciphertext = Base64(values, "--ciphertext"),
                Plaintext = Encoding.UTF8.GetBytes(values.GetValueOrDefault("--plaintext", "cloister kms round trip")),
                Ops = ops,
                Calls = Count(values.GetValueOrDefault("--calls", "100"), "--calls"),
                Concurrency = Count(values.GetValueOrDefault("--concurrency", "4"), "--concurrency"),
                AccessKeyId = values.GetValueOrDefault("--access-key-id", "enclave-app"),
                SecretAccessKey = values.GetValueOrDefault("--secret-access-key", "unused"),
            };
        }

        /// <exception cref="UsageException">The setting is missing.</exception>
        public static T Required<T>(T? value, string option, string operation)
            where T : class =>
            value ?? throw new UsageException($"{operation} needs {option}");

        private static byte[]? Base64(Dictionary<string, string> values, string option)
        {
            if (!values.TryGetValue(option, out var text))
            {
                return null;
            }

            try
            {
                return Convert.FromBase64String(text);
            }
            catch (FormatException)
            {
                throw new UsageException($"{option}: not base64");
            }
        }

        private static Dictionary<string, string> ParseContext(string json)
        {
            try
            {
                return JsonSerializer.Deserialize(json, ContextJson.Default.DictionaryStringString) ?? throw new UsageException("--context: not a JSON object of strings");
            }
            catch (JsonException)
            {
                throw new UsageException("--context: not a JSON object of strings");
            }
        }

        private static int Count(string text, string option) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1
                ? value
                : throw new UsageException($"{option}: '{text}' is not a positive integer");
    }

    [System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
    internal sealed partial class ContextJson : System.Text.Json.Serialization.JsonSerializerContext;

    /// <summary>The operations, each printed as one <c>KMS dotnet OP OK name=value…</c> or <c>KMS dotnet OP ERROR NAME message</c> line.</summary>
    internal sealed class KmsApp(AppSettings settings) : IDisposable
    {
        private const string App = "dotnet";

        // The proxy signs again with the host's credentials: the app's own are never checked, and only a call straight
        // to KMS (the benchmark's baseline) needs real ones. No retries, so a test sees each answer the proxy gave.
        private readonly AmazonKeyManagementServiceClient _client = new(
            new BasicAWSCredentials(settings.AccessKeyId, settings.SecretAccessKey),
            new AmazonKeyManagementServiceConfig { ServiceURL = settings.Endpoint, AuthenticationRegion = settings.Region, MaxErrorRetry = 0 });

        /// <summary>A KMS error's code (its <c>__type</c>), else the exception's type name.</summary>
        public static string ErrorName(Exception ex) =>
            ex is AmazonServiceException { ErrorCode: { Length: > 0 } code } ? code : ex.GetType().Name;

        /// <summary>What a KMS call raises when it fails: KMS's (or the proxy's) error answer, or no answer.</summary>
        public static bool IsCallFailure(Exception ex) => ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException;

        /// <summary>
        /// The message and, when it only points there ("see inner exception"), the innermost exception's, on one line:
        /// an error message may span lines, the output format may not.
        /// </summary>
        public static string Describe(Exception ex)
        {
            var innermost = ex;
            while (innermost.InnerException is { } inner)
            {
                innermost = inner;
            }

            var text = ReferenceEquals(innermost, ex) ? ex.Message : $"{ex.Message} ({innermost.GetType().Name}: {innermost.Message})";
            return string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }

        /// <summary>No network: proves the executable, its libraries (OpenSSL through .NET's crypto) and the SDK load.</summary>
        public static int VersionCheck(AppSettings settings)
        {
            using var client = new AmazonKeyManagementServiceClient(new BasicAWSCredentials(settings.AccessKeyId, settings.SecretAccessKey), new AmazonKeyManagementServiceConfig { ServiceURL = settings.Endpoint, AuthenticationRegion = settings.Region });
            using var a = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            using var b = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            var ecdh = a.DeriveRawSecretAgreement(b.PublicKey).AsSpan().SequenceEqual(b.DeriveRawSecretAgreement(a.PublicKey));
            var digest = SHA256.HashData(RandomNumberGenerator.GetBytes(16)).Length == 32;
            var sdk = typeof(AmazonKeyManagementServiceClient).Assembly.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version ?? "unknown";
            Console.WriteLine($"KMS {App} READY runtime={Environment.Version} sdk={sdk} crypto={Yes(ecdh && digest)}");
            return 0;
        }

        public async Task<int> RunAsync()
        {
            var ciphertext = settings.Ciphertext;
            var failed = false;
            foreach (var op in settings.Ops)
            {
                try
                {
                    switch (op)
                    {
                        case "Encrypt":
                            {
                                var answer = await _client.EncryptAsync(new EncryptRequest { KeyId = Key(op), Plaintext = new MemoryStream(settings.Plaintext), EncryptionContext = settings.Context });
                                ciphertext = answer.CiphertextBlob.ToArray();
                                Print(op, ("ciphertext", Convert.ToBase64String(ciphertext)), ("key_id", answer.KeyId));
                                break;
                            }

                        case "Decrypt":
                            {
                                var answer = await DecryptAsync(AppSettings.Required(ciphertext, "--ciphertext (or Encrypt before it)", op), Key(op));
                                Print(op, ("plaintext", Convert.ToBase64String(answer.Plaintext.ToArray())), ("key_id", answer.KeyId));
                                break;
                            }

                        case "GenerateDataKey":
                            {
                                var answer = await _client.GenerateDataKeyAsync(new GenerateDataKeyRequest { KeyId = Key(op), KeySpec = DataKeySpec.AES_256, EncryptionContext = settings.Context });
                                var plaintext = answer.Plaintext.ToArray();
                                Print(
                                    op,
                                    ("plaintext_bytes", plaintext.Length.ToString(CultureInfo.InvariantCulture)),
                                    ("matches_ciphertext", await DecryptsToAsync(answer.CiphertextBlob.ToArray(), plaintext)),
                                    ("key_id", answer.KeyId));
                                break;
                            }

                        case "GenerateDataKeyPair":
                            {
                                var answer = await _client.GenerateDataKeyPairAsync(new GenerateDataKeyPairRequest { KeyId = Key(op), KeyPairSpec = DataKeyPairSpec.ECC_NIST_P256, EncryptionContext = settings.Context });
                                var privateKey = answer.PrivateKeyPlaintext.ToArray();
                                using var pair = ECDiffieHellman.Create();
                                pair.ImportPkcs8PrivateKey(privateKey, out _);
                                Print(
                                    op,
                                    ("key_pair_spec", answer.KeyPairSpec.Value),
                                    ("private_matches_public", Yes(pair.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(answer.PublicKey.ToArray()))),
                                    ("matches_ciphertext", await DecryptsToAsync(answer.PrivateKeyCiphertextBlob.ToArray(), privateKey)),
                                    ("key_id", answer.KeyId));
                                break;
                            }

                        case "DeriveSharedSecret":
                            {
                                var keyId = AppSettings.Required(settings.AgreementKey, "--agreement-key", op);
                                using var own = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
                                var answer = await _client.DeriveSharedSecretAsync(new DeriveSharedSecretRequest
                                {
                                    KeyId = keyId,
                                    KeyAgreementAlgorithm = KeyAgreementAlgorithmSpec.ECDH,
                                    PublicKey = new MemoryStream(own.ExportSubjectPublicKeyInfo()),
                                });
                                var peerKey = settings.AgreementPublicKey ?? (await _client.GetPublicKeyAsync(new GetPublicKeyRequest { KeyId = keyId })).PublicKey.ToArray();
                                using var peer = ECDiffieHellman.Create();
                                peer.ImportSubjectPublicKeyInfo(peerKey, out _);
                                var secret = answer.SharedSecret.ToArray();
                                Print(
                                    op,
                                    ("shared_secret_bytes", secret.Length.ToString(CultureInfo.InvariantCulture)),
                                    ("matches_local_ecdh", Yes(own.DeriveRawSecretAgreement(peer.PublicKey).AsSpan().SequenceEqual(secret))),
                                    ("key_id", answer.KeyId));
                                break;
                            }

                        default:
                            {
                                var random = (await _client.GenerateRandomAsync(new GenerateRandomRequest { NumberOfBytes = 32 })).Plaintext.ToArray();
                                Print(op, ("random_bytes", random.Length.ToString(CultureInfo.InvariantCulture)), ("random", Convert.ToBase64String(random)));
                                break;
                            }
                    }
                }
                catch (Exception ex) when (IsCallFailure(ex) || ex is CryptographicException)
                {
                    failed = true;
                    Console.WriteLine($"KMS {App} {op} ERROR {ErrorName(ex)} {Describe(ex)}");
                }
            }

            return failed ? 1 : 0;
        }

        /// <summary>N Decrypt calls, C at a time: the proxy's throughput as an app sees it.</summary>
        public async Task<int> BenchAsync()
        {
            var key = AppSettings.Required(settings.Key, "--key", "bench");
            var ciphertext = settings.Ciphertext
                ?? (await _client.EncryptAsync(new EncryptRequest { KeyId = key, Plaintext = new MemoryStream(settings.Plaintext), EncryptionContext = settings.Context })).CiphertextBlob.ToArray();
            var next = 0;
            var errors = 0;
            string? firstError = null;
            var clock = Stopwatch.StartNew();
            async Task WorkerAsync()
            {
                while (Interlocked.Increment(ref next) <= settings.Calls)
                {
                    try
                    {
                        await DecryptAsync(ciphertext, key);
                    }
                    catch (Exception ex) when (IsCallFailure(ex))
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, $"{ErrorName(ex)} {Describe(ex)}", null);
                    }
                }
            }

            await Task.WhenAll(Enumerable.Range(0, Math.Min(settings.Concurrency, settings.Calls)).Select(_ => WorkerAsync()));
            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"KMS {App} bench Decrypt calls={settings.Calls} concurrency={settings.Concurrency} errors={errors} seconds={seconds:F3} calls_per_second={settings.Calls / seconds:F1}"));
            if (firstError is not null)
            {
                Console.WriteLine($"KMS {App} bench ERROR {firstError}");
            }

            return errors == 0 ? 0 : 1;
        }

        public void Dispose() => _client.Dispose();

        private static string Yes(bool condition) => condition ? "yes" : "no";

        private static void Print(string op, params (string Name, string Value)[] fields) =>
            Console.WriteLine($"KMS {App} {op} OK {string.Join(' ', fields.Select(field => $"{field.Name}={field.Value}"))}");

        private string Key(string op) => AppSettings.Required(settings.Key, "--key", op);

        private Task<DecryptResponse> DecryptAsync(byte[] ciphertext, string keyId) =>
            _client.DecryptAsync(new DecryptRequest { KeyId = keyId, CiphertextBlob = new MemoryStream(ciphertext), EncryptionContext = settings.Context });

        // The Decrypt of a ciphertext the app was just given, to compare with the plaintext that came with it.
        private async Task<string> DecryptsToAsync(byte[] ciphertext, byte[] expected)
        {
            try
            {
                return Yes((await DecryptAsync(ciphertext, settings.Key!)).Plaintext.ToArray().AsSpan().SequenceEqual(expected));
            }
            catch (Exception ex) when (IsCallFailure(ex))
            {
                return $"error:{ErrorName(ex)}";
            }
        }
    }
}
