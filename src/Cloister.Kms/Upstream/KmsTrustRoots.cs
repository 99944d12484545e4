using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Kms.Upstream;

/// <summary>The certificates a KMS endpoint's TLS chain may end in (<c>kms_proxy.ca_file</c>, or the built-in roots).</summary>
public static class KmsTrustRoots
{
    // Upstream/Roots/README.md says where they come from.
    private static readonly string[] s_builtIn =
    [
        "Amazon_Root_CA_1.pem", "Amazon_Root_CA_2.pem", "Amazon_Root_CA_3.pem", "Amazon_Root_CA_4.pem",
        "Starfield_Services_Root_Certificate_Authority_-_G2.pem",
    ];

    /// <summary>The Amazon Trust Services roots built into the assembly: Amazon Root CA 1–4 and Starfield Services Root G2.</summary>
    /// <returns>A new collection the caller owns.</returns>
    public static X509Certificate2Collection BuiltIn()
    {
        var roots = new X509Certificate2Collection();
        foreach (var name in s_builtIn)
        {
            using var stream = typeof(KmsTrustRoots).Assembly.GetManifestResourceStream("Cloister.Kms.Roots." + name)
                ?? throw new InvalidOperationException($"the built-in KMS root {name} is missing from the assembly");
            using var reader = new StreamReader(stream);
            roots.ImportFromPem(reader.ReadToEnd());
        }

        return roots;
    }

    /// <summary>Reads PEM certificates (a <c>kms_proxy.ca_file</c>).</summary>
    /// <param name="pem">The file's text.</param>
    /// <param name="source">What the text is, for the error (the file's path).</param>
    /// <returns>The certificates; the caller owns them.</returns>
    /// <exception cref="InvalidDataException">The text holds no certificate, or a certificate that does not parse.</exception>
    public static X509Certificate2Collection FromPem(string pem, string source)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"{source}: not PEM certificates: {ex.Message}", ex);
        }

        return roots.Count > 0
            ? roots
            : throw new InvalidDataException($"{source}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
}
