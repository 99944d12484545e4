using System.Buffers;
using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Cli.Provisioning;
using Cloister.Client.Encryption;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Json;
using Cloister.Encryption.Keys;
using Cloister.Provisioner.Api;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister encrypt --deployment D [--public-key FILE | --provisioner URL] [--leaves strings|all | --raw | --text]</c>:
/// encrypts stdin to stdout with deployment D's public key, so that only D's attested enclaves can decrypt it. A JSON
/// document keeps its shape with its leaves encrypted; <c>--raw</c> encrypts the bytes whole; <c>--text</c> makes one
/// <c>cl:</c> string of a text value. Outside an enclave nothing can decrypt, so there is no <c>cloister decrypt</c>.
/// </summary>
internal static class EncryptCommand
{
    /// <summary>The most bytes read from stdin (docs/encryption.md).</summary>
    public const int MaxInputSize = 64 << 20;

    private const string Usage = "the data comes from stdin (cloister encrypt --deployment D … < data.json)";

    public static Command Create()
    {
        var deployment = new Option<string>("--deployment") { Description = "The deployment whose enclaves may decrypt.", Required = true };
        var publicKey = new Option<FileInfo?>("--public-key")
        {
            Description = "The deployment's public key file (`cloister keys show D --output FILE`); instead of asking the provisioner.",
        };
        var leaves = new Option<string>("--leaves")
        {
            Description = "JSON input: encrypt the string leaves (strings, the default) or strings, numbers and booleans (all).",
            DefaultValueFactory = _ => "strings",
        };
        leaves.AcceptOnlyFromAmong("strings", "all");
        var raw = new Option<bool>("--raw") { Description = "Encrypt stdin whole, as bytes, and write the binary ciphertext (for an application/octet-stream /decrypt)." };
        var text = new Option<bool>("--text")
        {
            Description = "Encrypt stdin as one UTF-8 text value and write its cl: string, for a JSON string field. One trailing newline is dropped.",
        };
        var command = new Command(
            "encrypt",
            $"Encrypt stdin to stdout for a deployment's enclaves: a JSON document's leaves (default), the bytes whole (--raw) or one text value (--text). At most {MaxInputSize >> 20} MiB.")
        {
            deployment, publicKey, leaves, raw, text,
        };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var name = OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment));
            var (isRaw, isText) = (parseResult.GetValue(raw), parseResult.GetValue(text));
            if (isRaw && isText)
            {
                throw CommandFailedException.Usage("give --raw or --text, not both");
            }

            if ((isRaw || isText) && parseResult.GetResult(leaves) is { Implicit: false })
            {
                throw CommandFailedException.Usage("--leaves is for JSON input; --raw and --text encrypt stdin as one value");
            }

            if (isRaw && !Console.IsOutputRedirected)
            {
                throw CommandFailedException.Usage("--raw writes a binary ciphertext: redirect stdout to a file or a pipe, or use --text");
            }

            var keyFile = parseResult.GetValue(publicKey);
            if (keyFile is not null && operatorOptions.NamesProvisioner(parseResult))
            {
                throw CommandFailedException.Usage("give --public-key FILE or a provisioner (--provisioner, --credentials), not both");
            }

            if (keyFile is null && !operatorOptions.HasCredentials(parseResult))
            {
                throw CommandFailedException.Usage(
                    $"no public key: give --public-key FILE, or the provisioner's credentials (--credentials FILE or ${OperatorOptions.CredentialsVariable}) to fetch it");
            }

            using var encryptor = keyFile is not null ? OpenKeyFile(keyFile, name) : new Encryptor(await FetchKeyAsync(operatorOptions, parseResult, name, cancellationToken));
            var input = await StandardInput.ReadAsync(MaxInputSize, Usage, cancellationToken)
                ?? throw new CommandFailedException($"stdin holds more than {MaxInputSize >> 20} MiB, the most cloister encrypt reads; encrypt it in parts, or with Cloister.Client's Encryptor");
            await using var stdout = Console.OpenStandardOutput();
            try
            {
                if (isRaw)
                {
                    await stdout.WriteAsync(encryptor.Encrypt(input), cancellationToken);
                }
                else if (isText)
                {
                    await stdout.WriteAsync(Encoding.UTF8.GetBytes(encryptor.EncryptString(TextValue(input)) + "\n"), cancellationToken);
                }
                else
                {
                    EncryptJson(encryptor, input, parseResult.GetValue(leaves) == "all" ? LeafSelection.All : LeafSelection.Strings, stdout);
                }
            }
            finally
            {
                // The plaintext is what the ciphertexts protect: this process's copy is wiped, not left to the garbage collector.
                CryptographicOperations.ZeroMemory(input);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The current public key of the provisioner's answer, checked (<see cref="ProvisionerKeys.Check"/>).</summary>
    /// <exception cref="CommandFailedException">The answer is for another deployment, lacks its current version, or a key or fingerprint is wrong.</exception>
    internal static DeploymentPublicKey PublicKeyOf(DeploymentKeysView view, string deployment) => ProvisionerKeys.Check(view, deployment)[^1];

    private static async Task<DeploymentPublicKey> FetchKeyAsync(OperatorOptions operatorOptions, ParseResult parseResult, string deployment, CancellationToken cancellationToken)
    {
        using var client = operatorOptions.Connect(parseResult);
        var view = await client.SendAsync(
            HttpMethod.Get, $"/v1/deployments/{OperatorOptions.Segment(deployment)}/keys", content: null, OperatorJson.Default.DeploymentKeysView, cancellationToken);
        return PublicKeyOf(view, deployment);
    }

    private static Encryptor OpenKeyFile(FileInfo file, string deployment)
    {
        if (!file.Exists)
        {
            throw CommandFailedException.Usage($"--public-key: no such file: {file.FullName}");
        }

        var encryptor = Encryptor.FromFile(file.FullName);
        return encryptor.Deployment == deployment
            ? encryptor
            : throw new CommandFailedException($"--public-key {file.FullName} is the key of deployment '{encryptor.Deployment}', not of --deployment '{deployment}'");
    }

    // As `secrets set`: one trailing newline dropped, so `echo` and files that end in one give the value without it.
    private static string TextValue(byte[] input)
    {
        var span = input.AsSpan();
        span = span.EndsWith("\r\n"u8) ? span[..^2] : span.EndsWith("\n"u8) ? span[..^1] : span;
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new CommandFailedException($"--text: stdin is not UTF-8 text (at byte {ex.Index}); use --raw for bytes", ExitCodes.Invalid, ex);
        }
    }

    private static void EncryptJson(Encryptor encryptor, byte[] input, LeafSelection leaves, Stream stdout)
    {
        CheckJson(input);
        try
        {
            encryptor.EncryptJson(input, new StreamBufferWriter(stdout), leaves);
        }
        catch (CiphertextException ex)
        {
            throw new CommandFailedException($"stdin: {ex.Message}", ExitCodes.Invalid, ex);
        }

        stdout.Write("\n"u8);
    }

    // The document is parsed whole, with the reader options JsonLeafCipher uses, before a byte goes out: the output is
    // streamed (a document of short strings grows up to a hundredfold), so a fault found while encrypting would leave
    // half a document on stdout.
    private static void CheckJson(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            throw new CommandFailedException("stdin is empty: no JSON document to encrypt");
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = JsonLeafCipher.MaxDepth });
        try
        {
            while (reader.Read())
            {
                // Reading to the end is the check.
            }
        }
        catch (JsonException ex)
        {
            throw new CommandFailedException($"stdin is not valid JSON at byte {reader.BytesConsumed}: {ex.Message} (--raw or --text encrypt other input)", ExitCodes.Invalid, ex);
        }
    }

    /// <summary>Hands every block the JSON writer fills straight to a stream, so the output is never held whole.</summary>
    private sealed class StreamBufferWriter(Stream stream) : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[64 * 1024];

        public void Advance(int count) => stream.Write(_buffer, 0, count);

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (sizeHint > _buffer.Length)
            {
                _buffer = new byte[sizeHint];
            }

            return _buffer;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
