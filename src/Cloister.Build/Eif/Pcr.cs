using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Cloister.Build.Eif;

/// <summary>
/// The Nitro PCR primitive and the PCRs that do not come from the image sections: every PCR is one SHA-384
/// TPM-style extend of a zero register, <c>PCR = SHA384(48 zero bytes ‖ value)</c>.
/// </summary>
public static class Pcr
{
    /// <summary>The size of a PCR value and of a SHA-384 digest.</summary>
    public const int Length = 48;

    /// <summary>Extends a zero register with <paramref name="value"/>: <c>SHA384(48 zero bytes ‖ value)</c>.</summary>
    /// <param name="value">What is extended: a SHA-384 digest for PCR0/1/2/8, the raw string bytes for PCR3/PCR4.</param>
    /// <returns>The 48-byte PCR value.</returns>
    public static byte[] ExtendZero(ReadOnlySpan<byte> value)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
        hash.AppendData(stackalloc byte[Length]);
        hash.AppendData(value);
        return hash.GetHashAndReset();
    }

    /// <summary>PCR3: the IAM role ARN of the parent instance's profile, extended as raw UTF-8 (not pre-hashed).</summary>
    /// <param name="roleArn">For example <c>arn:aws:iam::123456789012:role/Webserver</c>.</param>
    /// <returns>The 48-byte PCR3 value.</returns>
    /// <exception cref="ArgumentException"><paramref name="roleArn"/> is empty.</exception>
    public static byte[] ForIamRole(string roleArn)
    {
        ArgumentException.ThrowIfNullOrEmpty(roleArn);
        return ExtendZero(Encoding.UTF8.GetBytes(roleArn));
    }

    /// <summary>PCR4: the parent instance id, extended as raw UTF-8 (not pre-hashed).</summary>
    /// <param name="instanceId">For example <c>i-1234567890abcdef0</c>.</param>
    /// <returns>The 48-byte PCR4 value.</returns>
    /// <exception cref="ArgumentException"><paramref name="instanceId"/> is empty.</exception>
    public static byte[] ForInstanceId(string instanceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        return ExtendZero(Encoding.UTF8.GetBytes(instanceId));
    }

    /// <summary>PCR8: the extend of the SHA-384 of the signing certificate's DER encoding.</summary>
    /// <param name="certificate">The certificate of the key that signed the image.</param>
    /// <returns>The 48-byte PCR8 value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is null.</exception>
    public static byte[] ForCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return ExtendZero(SHA384.HashData(certificate.RawDataMemory.Span));
    }

    /// <summary>What <c>nitro-cli pcr --input</c> prints: the extend of the SHA-384 of a whole stream's bytes.</summary>
    /// <param name="content">The stream, read from its current position to its end.</param>
    /// <returns>The 48-byte PCR value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="content"/> is null.</exception>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    public static byte[] ForContent(Stream content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return ExtendZero(SHA384.HashData(content));
    }
}
