using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Verification;
using Cloister.Runtime.Files;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister verify-doc FILE</c>: verify an attestation document (raw CBOR COSE_Sign1) and print what it attests.
/// Exit 0 when valid, 1 when invalid (the reason on stderr), 2 for a usage error.
/// </summary>
internal static class VerifyDocCommand
{
    private const int HexPreviewBytes = 32;

    // ISO 8601 as people type it; a value without an offset is UTC.
    private static readonly string[] s_atFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd",
    ];

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The attestation document (raw CBOR COSE_Sign1)." };
        var at = new Option<string>("--at") { Description = "Verify as if now were this ISO 8601 time (UTC when no offset is given)." };
        var root = new Option<FileInfo>("--root") { Description = "Trust the certificate(s) in this PEM file instead of the AWS Nitro root G1." };
        var pcrs = new Option<FileInfo>("--pcrs") { Description = "Require the PCRs of this nitro-cli measurements JSON ({\"Measurements\":{\"PCR0\":…}})." };
        var nonce = new Option<string>("--nonce") { Description = "Require this nonce (hex)." };
        var userData = new Option<string>("--user-data") { Description = "Require this user_data (hex)." };
        var allowDebug = new Option<bool>("--allow-debug") { Description = "Accept a debug-mode enclave (PCR0 all zeros) when a requirement is given." };
        var json = new Option<bool>("--json") { Description = "Print the document as JSON (only when it is valid)." };
        var command = new Command("verify-doc", "Verify an AWS Nitro attestation document: structure, chain to a trusted root, times, signature and, if asked, PCRs, nonce and user_data.")
        {
            file, at, root, pcrs, nonce, userData, allowDebug, json,
        };

        command.SetAction(parseResult =>
        {
            var document = AttestationText.Read(parseResult.GetRequiredValue(file), "the document", FileSizeLimits.AttestationDocument);
            var options = new AttestationVerifierOptions
            {
                TrustedRoots = parseResult.GetValue(root) is { } rootFile ? AttestationText.ReadCertificates(rootFile, "--root") : null,
                TimeProvider = parseResult.GetValue(at) is { } time ? new FixedTimeProvider(ParseTime(time)) : TimeProvider.System,
            };
            var policy = CreatePolicy(
                parseResult.GetValue(pcrs), parseResult.GetValue(nonce), parseResult.GetValue(userData), parseResult.GetValue(allowDebug));

            var result = new AttestationVerifier(options).Verify(document, policy);
            if (!result.IsValid)
            {
                throw new CommandFailedException($"invalid attestation document: {result.Failure}: {result.Detail}");
            }

            Console.Out.Write(parseResult.GetValue(json) ? ToJson(result.Document!.Document) : ToTable(result, policy is not null));
            return ExitCodes.Success;
        });
        return command;
    }

    private static AttestationPolicy? CreatePolicy(FileInfo? pcrs, string? nonce, string? userData, bool allowDebug)
    {
        if (pcrs is null && nonce is null && userData is null)
        {
            return null;
        }

        return new AttestationPolicy
        {
            Pcrs = pcrs is null ? null : AttestationText.ReadPcrs(pcrs),
            ExpectedNonce = nonce is null ? null : AttestationText.ParseHex("--nonce", nonce),
            ExpectedUserData = userData is null ? null : AttestationText.ParseHex("--user-data", userData),
            AllowDebugMode = allowDebug,
        };
    }

    private static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.TryParseExact(
            value, s_atFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw CommandFailedException.Usage($"--at: '{value}' is not an ISO 8601 time (e.g. 2024-01-24T18:15:00Z)");

    private static string ToJson(AttestationDocument document)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("module_id", document.ModuleId);
            writer.WriteString("timestamp", AttestationText.FormatTime(document.Timestamp));
            writer.WriteString("digest", document.Digest);
            AttestationText.WritePcrs(writer, document.Pcrs);
            WriteBase64OrNull(writer, "user_data", document.UserData);
            WriteBase64OrNull(writer, "nonce", document.Nonce);
            WriteBase64OrNull(writer, "public_key", document.PublicKey);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + Environment.NewLine;
    }

    private static void WriteBase64OrNull(Utf8JsonWriter writer, string name, byte[]? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteBase64String(name, value);
        }
    }

    private static string ToTable(AttestationVerificationResult result, bool policyChecked)
    {
        var document = result.Document!.Document;
        var chain = result.Chain!;
        var table = new StringBuilder();
        void Row(string name, string value) => TerminalText.AppendRow(table, name, value);

        Row("result", policyChecked ? "valid (authentic, and the requirements hold)" : "valid (authentic; no PCR, nonce or user_data requirement given)");
        Row("module id", document.ModuleId);
        Row("timestamp", AttestationText.FormatTime(document.Timestamp));
        Row("digest", document.Digest);
        Row("debug mode", document.IsDebugMode ? "YES: PCR0 is all zeros, the measurements prove nothing" : "no");
        foreach (var (index, value) in document.Pcrs.OrderBy(p => p.Key))
        {
            Row($"PCR{index}", Convert.ToHexStringLower(value));
        }

        Row("user_data", Preview(document.UserData));
        Row("nonce", Preview(document.Nonce));
        Row("public_key", Preview(document.PublicKey));
        Row("certificate", chain.LeafSubject);
        Row("root", chain.RootSubject);
        Row("chain valid", $"{AttestationText.FormatTime(chain.NotBefore)} .. {AttestationText.FormatTime(chain.NotAfter)}");
        return table.ToString();
    }

    private static string Preview(byte[]? value) => value switch
    {
        null => "(none)",
        { Length: 0 } => "0 bytes",
        { Length: <= HexPreviewBytes } => $"{value.Length} bytes  {Convert.ToHexStringLower(value)}",
        _ => $"{value.Length} bytes  {Convert.ToHexStringLower(value.AsSpan(0, HexPreviewBytes))}…",
    };

    /// <summary>The clock for <c>--at</c>: always the given instant.</summary>
    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
