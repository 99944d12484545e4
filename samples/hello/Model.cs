using System.Text.Json.Serialization;

namespace Cloister.Samples.Hello;

/// <summary>
/// <c>GET /</c>: who and where the app runs as, so the image's USER and WORKDIR are visible from outside, and what it
/// can see of the machine (its process id and network interfaces), so its isolation is too.
/// </summary>
public sealed record Greeting(string Message, string Hostname, uint Uid, uint Gid, string WorkingDirectory, int Pid, string[] NetworkInterfaces);

/// <summary><c>GET /secret</c>: the SHA-256 of the provisioned secret's value (hex), or null when the app has none.</summary>
public sealed record SecretDigest(string Name, string? Sha256);

/// <summary><c>GET /egress</c> when the destination answered with success.</summary>
public sealed record EgressResult(string Url, int Status, int Bytes);

/// <summary><c>GET /egress</c> when the proxy or the destination answered with an error status (a denied host: 403 from the proxy).</summary>
public sealed record EgressRefusal(string Url, int Status, int Bytes, string Error);

/// <summary><c>GET /egress</c> when no answer came at all.</summary>
public sealed record EgressFailure(string Url, string Error);

/// <summary>The Cages-compatible body of <c>POST /attestation-doc</c> on the local API.</summary>
public sealed record AttestationRequest(string Nonce);

/// <summary><c>GET /attestation</c>: the raw COSE_Sign1 document, base64.</summary>
public sealed record AttestationResult(string AttestationDoc);

/// <summary>The body of <c>POST /vault/card</c> once the local API has decrypted it.</summary>
public sealed record Card(string? Number);

/// <summary><c>POST /vault/card</c>: all the app tells of a card number it decrypted.</summary>
public sealed record CardSummary(string Last4, int Digits);

/// <summary>Any other failure, as JSON.</summary>
public sealed record ApiFailure(string Error);

/// <summary>Source-generated JSON, so NativeAOT needs no reflection; snake_case, as the local API speaks.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Greeting))]
[JsonSerializable(typeof(SecretDigest))]
[JsonSerializable(typeof(EgressResult))]
[JsonSerializable(typeof(EgressRefusal))]
[JsonSerializable(typeof(EgressFailure))]
[JsonSerializable(typeof(AttestationRequest))]
[JsonSerializable(typeof(AttestationResult))]
[JsonSerializable(typeof(ApiFailure))]
[JsonSerializable(typeof(Card))]
[JsonSerializable(typeof(CardSummary))]
internal sealed partial class HelloJsonContext : JsonSerializerContext;
