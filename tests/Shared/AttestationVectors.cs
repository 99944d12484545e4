using System.Globalization;
using System.Text.Json;

namespace Cloister.Testing;

/// <summary>One attestation document of <c>tests/vectors/attestation/manifest.json</c> with its expected values.</summary>
internal sealed record AttestationVector(
    string File,
    DateTimeOffset PinTime,
    DateTimeOffset Timestamp,
    DateTimeOffset ChainNotAfter,
    string ModuleId,
    bool IsDebug,
    IReadOnlyDictionary<int, byte[]> Pcrs,
    byte[]? Nonce,
    byte[]? UserData,
    byte[]? PublicKey)
{
    public string FullPath => RepositoryPaths.Vector("attestation", File);

    public bool HasBadSignature => File.Contains("BADSIG", StringComparison.Ordinal);

    public byte[] Read() => System.IO.File.ReadAllBytes(FullPath);

    public override string ToString() => File;
}

/// <summary>The machine-readable index of the attestation vectors (manifest.json).</summary>
internal static class AttestationVectors
{
    private static readonly Lazy<(IReadOnlyList<AttestationVector> Real, IReadOnlyList<AttestationVector> MockRoot)> s_manifest = new(Load);

    /// <summary>The 31 real AWS documents of <c>real/</c>.</summary>
    public static IReadOnlyList<AttestationVector> Real => s_manifest.Value.Real;

    /// <summary>The documents of <c>mock-root/</c>, signed under <see cref="MockRootPemPath"/>.</summary>
    public static IReadOnlyList<AttestationVector> MockRoot => s_manifest.Value.MockRoot;

    public static string AwsRootPemPath => RepositoryPaths.Vector("attestation", "aws-root-g1.pem");

    public static string MockRootPemPath => RepositoryPaths.Vector("attestation", "mock-root", "oyster-mock-root.pem");

    /// <summary>A document by file name (without directory), from either list.</summary>
    public static AttestationVector Get(string fileName) =>
        Real.Concat(MockRoot).Single(v => Path.GetFileName(v.File) == fileName);

    private static (IReadOnlyList<AttestationVector>, IReadOnlyList<AttestationVector>) Load()
    {
        using var manifest = JsonDocument.Parse(System.IO.File.ReadAllBytes(RepositoryPaths.Vector("attestation", "manifest.json")));
        var root = manifest.RootElement;
        return (Read(root.GetProperty("documents")), Read(root.GetProperty("mock_root").GetProperty("documents")));
    }

    private static AttestationVector[] Read(JsonElement documents) => [.. documents.EnumerateArray().Select(d => new AttestationVector(
        d.GetProperty("file").GetString()!,
        Time(d.GetProperty("pin_time")),
        Time(d.GetProperty("timestamp")),
        Time(d.GetProperty("chain_window").GetProperty("not_after")),
        d.GetProperty("module_id").GetString()!,
        d.TryGetProperty("debug", out var debug) ? debug.GetBoolean() : d.GetProperty("pcrs").GetProperty("0").GetString()!.All(c => c == '0'),
        d.GetProperty("pcrs").EnumerateObject().ToDictionary(
            p => int.Parse(p.Name, CultureInfo.InvariantCulture), p => Convert.FromHexString(p.Value.GetString()!)),
        Bytes(d.GetProperty("nonce")),
        Bytes(d.GetProperty("user_data")),
        Bytes(d.GetProperty("public_key"))))];

    private static DateTimeOffset Time(JsonElement value) =>
        DateTimeOffset.Parse(value.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static byte[]? Bytes(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null ? null : Convert.FromHexString(value.GetProperty("hex").GetString()!);
}
