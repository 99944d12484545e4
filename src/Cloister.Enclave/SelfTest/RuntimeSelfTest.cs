using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Cloister.Enclave.SelfTest;

/// <summary>
/// Exercises every native piece the supervisor depends on (loader, libc, libm, OpenSSL through .NET's crypto shim)
/// with real operations, so a packaging mistake fails here rather than at the first client connection.
/// </summary>
internal static class RuntimeSelfTest
{
    /// <summary>The message hashed and signed; fixed so a caller can recompute the digest independently.</summary>
    public static ReadOnlySpan<byte> DigestInput => "cloister-enclave self-test"u8;

    public static async Task<SelfTestReport> RunAsync(string version, CancellationToken cancellationToken)
    {
        var openSsl = FormatOpenSslVersion(SafeEvpPKeyHandle.OpenSslVersion);
        var sha384 = Convert.ToHexStringLower(SHA384.HashData(DigestInput));
        var ecdsa = SignAndVerify();
        var tls = await SelfTlsHandshake.RunAsync(cancellationToken);
        return new SelfTestReport(
            Environment.ProcessId,
            version,
            Environment.ProcessPath,
            Environment.GetCommandLineArgs()[0],
            openSsl,
            sha384,
            ecdsa,
            tls,
            MappedLibraries.Read());
    }

    private static EcdsaCheck SignAndVerify()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var message = DigestInput.ToArray();
        var signature = key.SignData(message, HashAlgorithmName.SHA384);
        if (!key.VerifyData(message, signature, HashAlgorithmName.SHA384))
        {
            throw new CryptographicException("ECDSA P-384: a signature made with the key did not verify with it");
        }

        message[0] ^= 1;
        return new EcdsaCheck(
            key.ExportParameters(includePrivateParameters: false).Curve.Oid.FriendlyName ?? "unnamed",
            signature.Length,
            TamperedRejected: !key.VerifyData(message, signature, HashAlgorithmName.SHA384));
    }

    // OpenSSL 3 packs MAJOR<<28 | MINOR<<20 | PATCH<<4; 1.x used a different layout, which the supervisor never ships.
    private static string FormatOpenSslVersion(long number) => number >> 28 >= 3
        ? string.Create(CultureInfo.InvariantCulture, $"{number >> 28}.{(number >> 20) & 0xFF}.{(number >> 4) & 0xFF}")
        : string.Create(CultureInfo.InvariantCulture, $"0x{number:x}");
}
