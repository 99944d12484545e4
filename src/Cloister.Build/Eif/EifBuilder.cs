using System.Text;

namespace Cloister.Build.Eif;

/// <summary>
/// Builds an enclave image file exactly as nitro-cli's EifBuilder does: header, then kernel, cmdline, metadata,
/// the ramdisks in the order added, and the signature last when a signer is set.
/// </summary>
/// <remarks>
/// Inputs are streamed to the output once: the CRC and the PCRs are computed while the bytes pass, so neither a
/// kernel nor a ramdisk is ever held in memory. Input streams must report their length (files, memory streams).
/// </remarks>
public sealed class EifBuilder
{
    private readonly Stream _kernel;
    private readonly byte[] _cmdline;
    private readonly EifMetadata _metadata;
    private readonly List<Stream> _ramdisks = [];

    /// <summary>Starts an image.</summary>
    /// <param name="kernel">The kernel, read from its current position to its end.</param>
    /// <param name="cmdline">The kernel command line, written as UTF-8 without a trailing NUL (nitro-cli trims the blob file first; this does not).</param>
    /// <param name="metadata">The metadata section.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The kernel stream cannot seek, or the cmdline contains a NUL.</exception>
    public EifBuilder(Stream kernel, string cmdline, EifMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(cmdline);
        ArgumentNullException.ThrowIfNull(metadata);
        _kernel = RequireLength(kernel, nameof(kernel));
        _cmdline = cmdline.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException("the kernel command line contains a NUL character", nameof(cmdline))
            : Encoding.UTF8.GetBytes(cmdline);
        _metadata = metadata;
    }

    /// <summary>The architecture recorded in the header flags; x86_64 by default.</summary>
    public EifArchitecture Architecture { get; set; } = EifArchitecture.X64;

    /// <summary>The signer; null (the default) writes an unsigned image.</summary>
    public EifSigner? Signer { get; set; }

    /// <summary>Appends a ramdisk: the first is the bootstrap ramdisk (PCR1), later ones the application (PCR2).</summary>
    /// <param name="ramdisk">The ramdisk, read from its current position to its end when the image is written.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ramdisk"/> is null.</exception>
    /// <exception cref="ArgumentException">The stream cannot seek.</exception>
    public void AddRamdisk(Stream ramdisk) => _ramdisks.Add(RequireLength(ramdisk, nameof(ramdisk)));

    /// <summary>Writes the image.</summary>
    /// <param name="output">A writable, seekable stream, written from its current position.</param>
    /// <returns>The image's measurements (PCR8 only when signed).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="output"/> is null.</exception>
    /// <exception cref="ArgumentException">The output cannot seek or write, or there are no ramdisks or more than the header can list.</exception>
    /// <exception cref="EifFormatException">An input stream ended before its reported length.</exception>
    public EifMeasurements WriteTo(Stream output)
    {
        if (_ramdisks.Count == 0)
        {
            throw new ArgumentException("an EIF needs at least one ramdisk");
        }

        using var writer = new EifWriter(output, Architecture);
        writer.WriteSection(EifSectionType.Kernel, _kernel, _kernel.Length - _kernel.Position);
        writer.WriteSection(EifSectionType.Cmdline, _cmdline);
        writer.WriteSection(EifSectionType.Metadata, _metadata.ToUtf8Json());
        foreach (var ramdisk in _ramdisks)
        {
            writer.WriteSection(EifSectionType.Ramdisk, ramdisk, ramdisk.Length - ramdisk.Position);
        }

        return writer.Finish(Signer);
    }

    private static Stream RequireLength(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream, name);
        return stream.CanSeek && stream.CanRead
            ? stream
            : throw new ArgumentException("the input must be a readable stream that knows its length (a file or a memory stream)", name);
    }
}
