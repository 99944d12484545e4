using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Cloister.Testing;

namespace Cloister.Build.Tests;

/// <summary>The EIF fixtures under tests/vectors/eif and test signing identities.</summary>
internal static class TestVectors
{
    public static string EifDirectory => RepositoryPaths.Vector("eif");

    public static string Derived(string name) => Path.Combine(EifDirectory, "derived", name);

    public static string Published(string name) => Path.Combine(EifDirectory, "published", name);

    public static JsonElement Expected { get; } = JsonDocument.Parse(File.ReadAllBytes(Derived("synthetic-expected.json"))).RootElement;

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    /// <summary>A fresh self-signed signing certificate (PEM bytes) and its key on <paramref name="curve"/>.</summary>
    public static (byte[] CertificatePem, ECDsa Key) CreateSigningIdentity(ECCurve curve, string subject = "CN=cloister-test-signer")
    {
        var key = ECDsa.Create(curve);
        var hash = key.KeySize switch { 256 => HashAlgorithmName.SHA256, 384 => HashAlgorithmName.SHA384, _ => HashAlgorithmName.SHA512 };
        var request = new CertificateRequest(subject, key, hash);
        using var certificate = request.CreateSelfSigned(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2034, 1, 1, 0, 0, 0, TimeSpan.Zero));
        return (System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"), key);
    }
}
