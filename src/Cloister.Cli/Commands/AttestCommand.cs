using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Verification;
using Cloister.Client;
using Cloister.Client.Http;
using Cloister.Client.Tls;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister attest https://HOST[:PORT] --pcrs measurements.json</c>: connect, attest the server inside the TLS
/// handshake (chain, document, PCRs, key binding, nonce) and print what was verified. Exit 0 when attested, 1 with the
/// reason when refused or unreachable, 2 for a usage error.
/// </summary>
internal static class AttestCommand
{
    private const int DefaultPort = 443;

    public static Command Create()
    {
        var address = new Argument<string>("address") { Description = "The server, https://HOST[:PORT] (port 443 when omitted)." };
        var pcrs = new Option<FileInfo>("--pcrs") { Description = "Require the PCRs of this nitro-cli measurements JSON ({\"Measurements\":{\"PCR0\":…}}).", Required = true };
        var root = new Option<FileInfo>("--root")
        {
            Description = "Trust the attestation root(s) in this PEM file instead of the AWS Nitro root G1 (the simulator's is ~/.cloister/sim/root.pem).",
        };
        var ca = new Option<FileInfo>("--ca")
        {
            Description = "CA mode (a provisioned deployment: pass the provisioner's root-ca.pem): the served chain must build to a CA in this PEM file (never the system store), be valid now, keep HOST and the attested name within every CA's name constraints, and name HOST. Without it the certificate must be self-signed (standalone).",
        };
        var nonce = new Option<string>("--nonce")
        {
            Description = "Ask for a fresh document: send this nonce (hex; 32 random bytes when no value follows) and require it in the document.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var maxAge = new Option<string>("--max-age") { Description = "Refuse a document older than this: 90s, 5m, 2h, 1d, or hh:mm:ss." };
        var allowDebug = new Option<bool>("--allow-debug") { Description = "Accept a debug-mode enclave (PCR0 all zeros), whose measurements prove nothing." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (also when refused)." };
        var get = new Option<string>("--get")
        {
            Description = "Once attested, GET this path (e.g. /status) over a connection attested the same way (with its own fresh nonce when --nonce is given) and stream the response body to stdout.",
        };
        var connectTimeout = new Option<string>("--connect-timeout")
        {
            Description = "Give up on a connection whose TCP connect and TLS handshake (attestation included) take longer than this (default 10s).",
        };
        var timeout = new Option<string>("--timeout")
        {
            Description = "Once connected, give up when the server keeps us waiting longer than this: for the response headers or for the next piece of the body (default 30s).",
        };
        var maxTime = new Option<string>("--max-time") { Description = "Give up when the whole command takes longer than this, an endless --get body included (default: no limit)." };
        var maxBody = new Option<long?>("--max-body-bytes")
        {
            Description = "With --get: stop with an error once the body exceeds this many bytes (the first ones are already printed); refuse at once when the server announces a larger Content-Length.",
        };
        var command = new Command("attest", "Attest a server over TLS: its certificate, the attestation document inside it, the PCRs, the key binding and, if asked, a fresh nonce.")
        {
            address, pcrs, root, ca, nonce, maxAge, allowDebug, json, get, connectTimeout, timeout, maxTime, maxBody,
        };

        command.SetAction((parseResult, cancellationToken) =>
        {
            var (host, port) = ParseAddress(parseResult.GetRequiredValue(address));
            var pcrsFile = parseResult.GetRequiredValue(pcrs);
            var measurements = AttestationText.ReadMeasurements(pcrsFile);
            var requested = parseResult.GetResult(nonce) is null
                ? null
                : parseResult.GetValue(nonce) is { Length: > 0 } hex ? ParseNonce(hex) : AttestedTlsClient.CreateNonce();
            var options = new AttestedTlsOptions
            {
                Pcrs = PcrPolicy.Exactly(measurements),
                TrustedRoots = parseResult.GetValue(root) is { } rootFile ? AttestationText.ReadCertificates(rootFile, "--root") : null,
                ChainTrust = parseResult.GetValue(ca) is { } caFile ? TlsChainTrust.IssuedBy(AttestationText.ReadCertificates(caFile, "--ca")) : TlsChainTrust.SelfSigned,
                MaxAge = parseResult.GetValue(maxAge) is { } age ? ParseDuration("--max-age", age) : null,
                AllowDebugMode = parseResult.GetValue(allowDebug),
                CacheCapacity = 0,
            };
            var path = parseResult.GetValue(get) is { } getPath ? ParsePath(getPath) : null;
            if (path is not null && parseResult.GetValue(json))
            {
                throw CommandFailedException.Usage("--get prints the response body, which --json output cannot hold; use one or the other");
            }

            var maxBodyBytes = parseResult.GetValue(maxBody);
            if (maxBodyBytes is not null && (path is null || maxBodyBytes <= 0))
            {
                throw CommandFailedException.Usage($"--max-body-bytes: {maxBodyBytes} {(path is null ? "limits the body of --get, which is not given" : "is not a positive number of bytes")}");
            }

            var limits = new Limits(
                new ClientTimeouts
                {
                    Connect = parseResult.GetValue(connectTimeout) is { } connect ? ParseDuration("--connect-timeout", connect) : ClientTimeouts.Default.Connect,
                    Response = parseResult.GetValue(timeout) is { } wait ? ParseDuration("--timeout", wait) : ClientTimeouts.Default.Response,
                },
                parseResult.GetValue(maxTime) is { } total ? ParseDuration("--max-time", total) : null,
                maxBodyBytes);
            var target = new Target(host, port, pcrsFile.Name, [.. measurements.Keys.Order()]);
            return RunAsync(target, new AttestedTlsVerifier(options), requested, parseResult.GetValue(json), path, limits, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(
        Target target, AttestedTlsVerifier verifier, byte[]? nonce, bool json, string? path, Limits limits, CancellationToken cancellationToken)
    {
        using var overall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        overall.CancelAfter(limits.MaxTime ?? Timeout.InfiniteTimeSpan);
        AttestedTlsResult result;
        try
        {
            result = await AttestedTlsClient.AttestAsync(target.Host, target.Port, verifier, nonce, limits.Timeouts, overall.Token);
        }
        catch (OperationCanceledException ex) when (overall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw limits.MaxTimeReached($"while attesting {target}", ex);
        }
        catch (NetworkTimeoutException ex)
        {
            throw Limits.TimedOut(ex);
        }
        catch (AttestedTlsException ex)
        {
            throw new CommandFailedException(ex.Message, ExitCodes.Invalid, ex);
        }
        catch (SocketException ex)
        {
            throw new CommandFailedException($"cannot connect to {target}: {ex.Message}", ExitCodes.Invalid, ex);
        }
        catch (AuthenticationException ex)
        {
            throw new CommandFailedException($"TLS handshake with {target} failed before attestation: {ex.Message}", ExitCodes.Invalid, ex);
        }
        catch (IOException ex)
        {
            throw new CommandFailedException($"the connection to {target} broke during the TLS handshake: {ex.Message}", ExitCodes.Invalid, ex);
        }

        Console.Out.Write(json ? ToJson(target, verifier, result) : result.IsValid ? ToTable(target, verifier, result) : "");
        if (!result.IsValid)
        {
            throw new CommandFailedException($"attestation refused: {result}");
        }

        return path is null
            ? ExitCodes.Success
            : await GetAsync(target, verifier, path, fresh: nonce is not null, limits, overall.Token, cancellationToken);
    }

    /// <summary>GETs <paramref name="path"/> and streams the body to stdout as it arrives, so memory stays bounded whatever its size.</summary>
    private static async Task<int> GetAsync(
        Target target, AttestedTlsVerifier verifier, string path, bool fresh, Limits limits, CancellationToken overall, CancellationToken cancellationToken)
    {
        // The handler bounds each step; HttpClient's own 100 s limit on the whole request would cut a long download.
        using var client = new HttpClient(new AttestingHttpHandler(verifier, limits.Timeouts)) { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new UriBuilder(Uri.UriSchemeHttps, target.Host, target.Port).Uri, path));
        if (fresh)
        {
            AttestingHttpHandler.RequireFreshAttestation(request);
        }

        await using var output = Console.OpenStandardOutput();
        var body = new BodyStream(output, limits.MaxBodyBytes);
        try
        {
            // Headers only: the body is read as it streams, never buffered whole. SocketsHttpHandler caps the headers at 64 KiB.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, overall);
            if (response.Content.Headers.ContentLength is { } length && length > limits.MaxBodyBytes)
            {
                throw new CommandFailedException($"GET {path}: the body is {length} bytes, more than --max-body-bytes {limits.MaxBodyBytes}; nothing printed");
            }

            await using var content = await response.Content.ReadAsStreamAsync(overall);
            if (!await body.CopyAsync(content, overall))
            {
                throw new CommandFailedException($"GET {path}: the body exceeds --max-body-bytes {limits.MaxBodyBytes}; stopped after printing that many bytes");
            }

            return response.IsSuccessStatusCode
                ? ExitCodes.Success
                : throw new CommandFailedException($"GET {path} over the attested connection answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        catch (OperationCanceledException ex) when (overall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw limits.MaxTimeReached($"during GET {path}, after {body.Written} bytes of the body", ex);
        }
        catch (NetworkTimeoutException ex)
        {
            throw Limits.TimedOut(ex, ex.Step == NetworkStep.ResponseBody ? $"; {body.Written} bytes of the body were printed" : "");
        }
        catch (HttpRequestException ex)
        {
            throw new CommandFailedException(ex.InnerException is AttestedTlsException refused
                ? $"GET {path}: attestation of its connection refused: {refused.Message}"
                : $"GET {path} failed: {ex.Message}", ExitCodes.Invalid, ex);
        }
    }

    private static string ParsePath(string path) =>
        path.StartsWith('/') && Uri.TryCreate("https://host" + path, UriKind.Absolute, out _)
            ? path
            : throw CommandFailedException.Usage($"--get: '{path}' is not a path such as /status");

    private static (string Host, int Port) ParseAddress(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw CommandFailedException.Usage($"'{value}' is not an address such as https://enclave.example.com:443");
        }

        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            throw new CommandFailedException($"attestation refused: {AttestedTlsFailure.NotTls}: '{value}' is plaintext; only an https:// server can be attested");
        }

        if (uri.Scheme != Uri.UriSchemeHttps)
        {
            throw CommandFailedException.Usage($"'{value}': the scheme must be https://");
        }

        return (uri.IdnHost, uri.IsDefaultPort ? DefaultPort : uri.Port);
    }

    private static byte[] ParseNonce(string hex)
    {
        var nonce = AttestationText.ParseHex("--nonce", hex);
        return nonce.Length <= NonceHostName.MaxNonceLength
            ? nonce
            : throw CommandFailedException.Usage($"--nonce: {nonce.Length} bytes; a nonce in a server name is at most {NonceHostName.MaxNonceLength}");
    }

    private static TimeSpan ParseDuration(string option, string value)
    {
        var unit = value.Length > 1 ? value[^1] : ' ';
        var seconds = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        if (seconds > 0 && double.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var count) && count > 0)
        {
            return TimeSpan.FromSeconds(count * seconds);
        }

        return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
            ? span
            : throw CommandFailedException.Usage($"{option}: '{value}' is not a positive duration (90s, 5m, 2h, 1d or hh:mm:ss)");
    }

    private static string ToTable(Target target, AttestedTlsVerifier verifier, AttestedTlsResult result)
    {
        var document = result.Document!;
        var table = new StringBuilder();
        void Row(string name, string value) => TerminalText.AppendRow(table, name, value);

        Row("result", $"attested: {target} runs an enclave with the expected measurements, and this TLS key is its own");
        Row("pcrs", $"matched {string.Join(", ", target.PcrIndices.Select(i => $"PCR{i}"))} of {target.PcrsFile}");
        foreach (var index in target.PcrIndices)
        {
            Row($"PCR{index}", Convert.ToHexStringLower(document.Pcrs[index]));
        }

        Row("module id", document.ModuleId);
        Row("document", $"{AttestationText.FormatTime(document.Timestamp)}, signed under '{result.DocumentVerification!.Chain!.RootSubject}'");
        Row("debug mode", document.IsDebugMode ? "YES: PCR0 is all zeros, the measurements prove nothing" : "no");
        Row("certificate", $"SHA-256 {result.CertificateThumbprint}");
        Row("expires", AttestationText.FormatTime(result.CertificateNotAfter));
        Row("tls trust", verifier.ChainTrust.ToString());
        Row("key binding", $"user_data is the certificate's SubjectPublicKeyInfo ({document.UserData!.Length} bytes)");
        Row("nonce", result.Nonce is { } nonce ? $"checked: {Convert.ToHexStringLower(nonce)}" : "not asked for (--nonce for a fresh document)");
        return table.ToString();
    }

    private static string ToJson(Target target, AttestedTlsVerifier verifier, AttestedTlsResult result)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("host", target.Host);
            writer.WriteNumber("port", target.Port);
            writer.WriteBoolean("valid", result.IsValid);
            writer.WriteString("failure", result.Failure.ToString());
            writer.WriteString("document_failure", result.DocumentFailure.ToString());
            writer.WriteString("detail", result.Detail);
            writer.WriteString("tls_trust", verifier.ChainTrust.Mode.ToString());
            writer.WriteString("certificate_sha256", result.CertificateThumbprint);
            writer.WriteString("certificate_not_after", AttestationText.FormatTime(result.CertificateNotAfter));
            if (result.Nonce is { } nonce)
            {
                writer.WriteString("nonce", Convert.ToHexStringLower(nonce));
            }
            else
            {
                writer.WriteNull("nonce");
            }

            if (result.DocumentVerification?.Document?.Document is { } document)
            {
                writer.WriteString("module_id", document.ModuleId);
                writer.WriteString("timestamp", AttestationText.FormatTime(document.Timestamp));
                writer.WriteBoolean("debug_mode", document.IsDebugMode);
                AttestationText.WritePcrs(writer, document.Pcrs);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + Environment.NewLine;
    }

    /// <summary>How long and how much: the network steps' bounds, the whole command's, the body's size.</summary>
    private sealed record Limits(ClientTimeouts Timeouts, TimeSpan? MaxTime, long? MaxBodyBytes)
    {
        /// <summary>A step's timeout, naming the option that sets it.</summary>
        public static CommandFailedException TimedOut(NetworkTimeoutException ex, string detail = "")
        {
            var option = ex.Step is NetworkStep.Connect or NetworkStep.TlsHandshake ? "--connect-timeout" : "--timeout";
            return new CommandFailedException($"{ex.Message} ({option}){detail}", ExitCodes.Invalid, ex);
        }

        public CommandFailedException MaxTimeReached(string when, OperationCanceledException ex) =>
            new($"--max-time {FormatSeconds(MaxTime!.Value)} reached {when}", ExitCodes.Invalid, ex);

        private static string FormatSeconds(TimeSpan time) => time.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }

    /// <summary>The server asked for, and the measurements it must meet.</summary>
    private sealed record Target(string Host, int Port, string PcrsFile, int[] PcrIndices)
    {
        public override string ToString() => $"{Host}:{Port}";
    }
}
