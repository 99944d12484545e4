namespace Cloister.Build.Eif;

/// <summary>The result of reading every byte of an image once: its PCRs, its CRC check and, if signed, its signature check.</summary>
public sealed class EifInspection : IDisposable
{
    internal EifInspection(EifMeasurements measurements, uint storedCrc, uint computedCrc, EifSignature? signature, bool? coseSignatureValid, EifCertificateCheck? certificateCheck)
    {
        Measurements = measurements;
        StoredCrc = storedCrc;
        ComputedCrc = computedCrc;
        Signature = signature;
        CoseSignatureValid = coseSignatureValid;
        CertificateCheck = certificateCheck;
    }

    /// <summary>PCR0, PCR1, PCR2 and, when signed, PCR8.</summary>
    public EifMeasurements Measurements { get; }

    /// <summary>The CRC-32 stored in the header.</summary>
    public uint StoredCrc { get; }

    /// <summary>The CRC-32 of the file as read.</summary>
    public uint ComputedCrc { get; }

    /// <summary>Whether the stored CRC matches the file (nitro-cli's <c>CheckCRC</c>).</summary>
    public bool CrcMatches => StoredCrc == ComputedCrc;

    /// <summary>The decoded signature section, or null for an unsigned image.</summary>
    public EifSignature? Signature { get; }

    /// <summary>nitro-cli's <c>SignatureCheck</c>: null when unsigned, else whether the COSE signature covers this PCR0 and verifies with the certificate's key.</summary>
    public bool? CoseSignatureValid { get; }

    /// <summary>The check of the signing certificate itself (nitro-cli makes none), or null when unsigned.</summary>
    public EifCertificateCheck? CertificateCheck { get; }

    /// <summary>
    /// What <c>describe</c> reports as <c>SignatureCheck</c>: null when unsigned, else <see cref="CoseSignatureValid"/>
    /// and a certificate that did not fail its own check (<see cref="EifCertificateCheck.Failed"/>). Stricter than
    /// nitro-cli, which would pass a certificate edited after signing.
    /// </summary>
    public bool? SignatureValid => CoseSignatureValid is { } cose ? cose && CertificateCheck?.Failed != true : null;

    /// <summary>Throws unless the CRC matches.</summary>
    /// <exception cref="EifFormatException">The CRC does not match (<see cref="EifError.CrcMismatch"/>).</exception>
    public void ThrowIfCrcMismatch()
    {
        if (!CrcMatches)
        {
            throw new EifFormatException(EifError.CrcMismatch, EifHeader.CrcOffset, $"eif_crc32 is 0x{StoredCrc:x8} but the file's CRC-32 is 0x{ComputedCrc:x8}");
        }
    }

    /// <inheritdoc />
    public void Dispose() => Signature?.Dispose();
}
