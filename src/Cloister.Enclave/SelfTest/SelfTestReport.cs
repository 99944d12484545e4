using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cloister.Enclave.SelfTest;

/// <summary>What <c>cloister-enclave --self-test</c> proved about the runtime it started in, printed as one JSON line.</summary>
/// <param name="Pid">The supervisor's process id (1 when it is the first process of a PID namespace).</param>
/// <param name="Version">The supervisor's informational version.</param>
/// <param name="ProcessPath">
/// <see cref="Environment.ProcessPath"/>: the dynamic loader, not the supervisor, when started through the loader,
/// because it comes from <c>/proc/self/exe</c>.
/// </param>
/// <param name="Argv0">The first command-line element, which the loader sets to the supervisor's own path.</param>
/// <param name="OpenSsl">The OpenSSL version .NET's crypto loaded, decoded from <c>OpenSSL_version_num</c>.</param>
/// <param name="Sha384">SHA-384 of <see cref="RuntimeSelfTest.DigestInput"/>, lowercase hex, for the caller to recompute.</param>
/// <param name="Ecdsa">The P-384 sign/verify round trip.</param>
/// <param name="Tls">The TLS handshake the supervisor made with itself.</param>
/// <param name="Libraries">Every shared object mapped into the process, from <c>/proc/self/maps</c>, sorted.</param>
internal sealed record SelfTestReport(
    int Pid,
    string Version,
    string? ProcessPath,
    string Argv0,
    string OpenSsl,
    string Sha384,
    EcdsaCheck Ecdsa,
    TlsCheck Tls,
    IReadOnlyList<string> Libraries)
{
    public static string ToJson(SelfTestReport report) => JsonSerializer.Serialize(report, SelfTestJsonContext.Default.SelfTestReport);

    public static SelfTestReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, SelfTestJsonContext.Default.SelfTestReport) ?? throw new FormatException("self-test report: the document is null");
}

/// <summary>An ECDSA P-384 key generated, a message signed with SHA-384, the signature verified and a tampered message refused.</summary>
/// <param name="Curve">The curve's OID friendly name as OpenSSL reported it.</param>
/// <param name="SignatureBytes">The IEEE P1363 signature length (96 for P-384).</param>
/// <param name="TamperedRejected">Whether a one-bit change to the message made verification fail.</param>
internal sealed record EcdsaCheck(string Curve, int SignatureBytes, bool TamperedRejected);

/// <summary>A TLS handshake between two <see cref="System.Net.Security.SslStream"/>s over a Unix socket pair, and an echoed payload.</summary>
/// <param name="Protocol">The negotiated protocol (e.g. Tls13).</param>
/// <param name="CipherSuite">The negotiated cipher suite.</param>
/// <param name="ServerCertificateSha256">SHA-256 of the server certificate the client pinned, lowercase hex.</param>
/// <param name="EchoedBytes">How many random bytes made the round trip through the encrypted channel intact.</param>
internal sealed record TlsCheck(string Protocol, string CipherSuite, string ServerCertificateSha256, int EchoedBytes);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(SelfTestReport))]
internal sealed partial class SelfTestJsonContext : JsonSerializerContext;
