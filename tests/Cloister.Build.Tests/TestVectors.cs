using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Cloister.Build.Tests;

/// <summary>Paths into tests/vectors, found from the repository root, and test signing identities.</summary>
internal static class TestVectors
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string EifDirectory => Path.Combine(RepositoryRoot, "tests", "vectors", "eif");

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

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Cloister.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no directory above {AppContext.BaseDirectory} contains Cloister.slnx");
    }
}
