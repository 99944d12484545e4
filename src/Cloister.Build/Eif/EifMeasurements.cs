namespace Cloister.Build.Eif;

/// <summary>The PCRs an enclave image determines: PCR0, PCR1, PCR2 from its sections and PCR8 when it is signed.</summary>
public sealed class EifMeasurements
{
    /// <summary>
    /// The <c>HashAlgorithm</c> value nitro-cli up to 1.4.x prints (<c>format!("{:?}", Sha384::new())</c> with sha2 0.9).
    /// nitro-cli 1.5.0 prints <see cref="HashAlgorithmNitroCli15"/>; both name the same SHA-384 measurement.
    /// </summary>
    public const string HashAlgorithmNitroCli14 = "Sha384 { ... }";

    /// <summary>The <c>HashAlgorithm</c> value nitro-cli 1.5.0 prints (sha2 0.10's Debug output).</summary>
    public const string HashAlgorithmNitroCli15 = "Sha512_48 { .. }";

    /// <summary>
    /// The <c>HashAlgorithm</c> value written unless another is asked for: what the current nitro-cli release (1.5.0)
    /// prints, so the same image gives the same JSON text from both tools.
    /// </summary>
    public const string DefaultHashAlgorithm = HashAlgorithmNitroCli15;

    internal EifMeasurements(byte[] pcr0, byte[] pcr1, byte[] pcr2, byte[]? pcr8)
    {
        Pcr0 = pcr0;
        Pcr1 = pcr1;
        Pcr2 = pcr2;
        Pcr8 = pcr8;
    }

    /// <summary>PCR0: kernel ‖ cmdline ‖ every ramdisk.</summary>
    public byte[] Pcr0 { get; }

    /// <summary>PCR1: kernel ‖ cmdline ‖ the first ramdisk (the bootstrap).</summary>
    public byte[] Pcr1 { get; }

    /// <summary>PCR2: the ramdisks after the first (the application); the extend of SHA-384 of nothing if there is one ramdisk.</summary>
    public byte[] Pcr2 { get; }

    /// <summary>PCR8: the signing certificate, or null for an unsigned image.</summary>
    public byte[]? Pcr8 { get; }

    /// <summary>
    /// Writes the <c>Measurements</c> object as nitro-cli does: keys sorted, values lowercase hex.
    /// </summary>
    /// <param name="writer">The JSON writer, positioned where a value is expected.</param>
    /// <param name="hashAlgorithm">The <c>HashAlgorithm</c> text; <see cref="HashAlgorithmNitroCli14"/> or <see cref="HashAlgorithmNitroCli15"/>.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public void WriteJson(Json.SerdeJsonWriter writer, string hashAlgorithm)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(hashAlgorithm);
        writer.WriteStartObject();
        writer.WriteProperty("HashAlgorithm", hashAlgorithm);
        writer.WriteProperty("PCR0", Convert.ToHexStringLower(Pcr0));
        writer.WriteProperty("PCR1", Convert.ToHexStringLower(Pcr1));
        writer.WriteProperty("PCR2", Convert.ToHexStringLower(Pcr2));
        if (Pcr8 is not null)
        {
            writer.WriteProperty("PCR8", Convert.ToHexStringLower(Pcr8));
        }

        writer.WriteEndObject();
    }
}
