using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Build.Eif;

/// <summary>
/// Reads an enclave image file: validates the header and walks the section headers when opened (seeking over
/// the data), then streams section data on demand. Sections may come in any order, as AWS's reader allows.
/// </summary>
public sealed class EifReader : IDisposable
{
    /// <summary>The largest signature section read into memory (the format's README allows 32 KiB).</summary>
    private const int MaxSignatureSectionSize = 1 << 20;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _headerBytes;
    private readonly List<EifSection> _sections;

    /// <summary>Opens an image and validates its structure.</summary>
    /// <param name="stream">A readable, seekable stream positioned at the start of the image; the image must run to its end.</param>
    /// <param name="leaveOpen">True to leave <paramref name="stream"/> open when the reader is disposed.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> cannot read or seek.</exception>
    /// <exception cref="EifFormatException">The header or the section table is malformed.</exception>
    public EifReader(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("an EIF is read from a readable, seekable stream", nameof(stream));
        }

        _stream = stream;
        _leaveOpen = leaveOpen;
        _headerBytes = new byte[EifHeader.Size];
        var read = stream.ReadAtLeast(_headerBytes, _headerBytes.Length, throwOnEndOfStream: false);
        Header = EifHeader.Parse(_headerBytes.AsSpan(0, read));
        _sections = ReadSectionTable(stream, Header);
    }

    /// <summary>The decoded header.</summary>
    public EifHeader Header { get; }

    /// <summary>The sections in file order.</summary>
    public IReadOnlyList<EifSection> Sections => _sections;

    /// <summary>Whether the image has a signature section.</summary>
    public bool IsSigned => _sections.Exists(s => s.Type == EifSectionType.Signature);

    /// <summary>Opens an image file for reading.</summary>
    /// <param name="path">The file.</param>
    /// <returns>A reader that owns the file.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="EifFormatException">The header or the section table is malformed.</exception>
    public static EifReader Open(string path)
    {
        // No FileStream buffer: reads are 1 MiB and go straight into the hashing buffers.
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        try
        {
            return new EifReader(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>A read-only stream over one section's data; it reads through this reader's stream, so use one at a time.</summary>
    /// <param name="section">One of <see cref="Sections"/>.</param>
    /// <returns>The stream.</returns>
    /// <exception cref="ArgumentException"><paramref name="section"/> is not a section of this image.</exception>
    public Stream OpenSection(EifSection section)
    {
        if (!_sections.Contains(section))
        {
            throw new ArgumentException("the section does not belong to this image", nameof(section));
        }

        return new SectionStream(_stream, section.DataOffset, section.Size);
    }

    /// <summary>Reads the metadata section, or returns null when the image has none (versions before 4).</summary>
    /// <returns>The metadata.</returns>
    /// <exception cref="EifFormatException">The metadata is not the JSON object nitro-cli writes.</exception>
    public EifMetadata? ReadMetadata()
    {
        var index = _sections.FindIndex(s => s.Type == EifSectionType.Metadata);
        return index < 0 ? null : EifMetadata.Parse(ReadSmallSection(_sections[index], EifMetadata.MaxSize), _sections[index].DataOffset);
    }

    /// <summary>
    /// Reads every section once, in file order, computing the CRC, PCR0/1/2, PCR8, the signature check and the check of
    /// the signing certificate itself. A CRC mismatch or a failed check is reported in the result, not thrown, so that
    /// <c>describe</c> can still show it.
    /// </summary>
    /// <param name="signingAnchors">Trust anchors the signing certificate must chain to, or null to check only a self-signed one (<see cref="EifSignature.CheckCertificate"/>).</param>
    /// <returns>The inspection.</returns>
    /// <exception cref="EifFormatException">The stream ended early or the signature section is malformed.</exception>
    /// <exception cref="IOException">Reading failed.</exception>
    public EifInspection Inspect(IReadOnlyCollection<X509Certificate2>? signingAnchors = null)
    {
        using var digest = new EifDigest();
        EifSignature? signature = null;
        try
        {
            foreach (var section in _sections)
            {
                digest.BeginSection(section);
                _stream.Position = section.DataOffset;
                if (section.Type == EifSectionType.Signature)
                {
                    var bytes = ReadSmallSection(section, MaxSignatureSectionSize);
                    digest.Append(bytes);
                    signature = EifSignature.Parse(bytes, section.DataOffset);
                }
                else
                {
                    var read = digest.Pump(_stream, section.Size, destination: null);
                    if (read != section.Size)
                    {
                        throw Truncated(section.DataOffset + read, $"the {section.Type} section");
                    }
                }
            }

            var measurements = digest.Complete(signature?.Pcr8);
            return new EifInspection(
                measurements, Header.Crc32, digest.FileCrc(_headerBytes), signature, signature?.Verify(measurements.Pcr0), signature?.CheckCertificate(signingAnchors));
        }
        catch
        {
            signature?.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private static List<EifSection> ReadSectionTable(Stream stream, EifHeader header)
    {
        var length = stream.Length;
        var sections = new List<EifSection>(header.SectionOffsets.Count);
        Span<byte> raw = stackalloc byte[EifSection.HeaderSize];
        long position = EifHeader.Size;
        for (var i = 0; i < header.SectionOffsets.Count; i++)
        {
            if (header.SectionOffsets[i] != position)
            {
                throw new EifFormatException(EifError.SectionOffsetMismatch, EifHeader.SectionOffsetsOffset + (8 * i), $"section_offsets[{i}] is {header.SectionOffsets[i]}, but section {i} starts at {position}");
            }

            stream.Position = position;
            var read = stream.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false);
            if (read < raw.Length)
            {
                throw Truncated(position + read, $"the header of section {i}");
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(raw);
            var flags = BinaryPrimitives.ReadUInt16BigEndian(raw[2..]);
            var size = BinaryPrimitives.ReadUInt64BigEndian(raw[4..]);
            if (type is (ushort)EifSectionType.Invalid or > (ushort)EifSectionType.Metadata)
            {
                throw new EifFormatException(EifError.UnknownSectionType, position, $"section {i} has type {type}; known types are 1 to 5");
            }

            if (flags != 0)
            {
                throw new EifFormatException(EifError.InvalidSectionFlags, position + 2, $"section {i} has flags 0x{flags:x4}; they must be 0");
            }

            if (size != (ulong)header.SectionSizes[i])
            {
                throw new EifFormatException(EifError.SectionSizeMismatch, position + 4, $"section {i} ({(EifSectionType)type}) header says {size} bytes, section_sizes[{i}] says {header.SectionSizes[i]}");
            }

            // Compared with what is left, never added to an offset: a size near 2^63 would overflow the sum.
            var dataOffset = position + EifSection.HeaderSize;
            if (size > (ulong)(length - dataOffset))
            {
                throw Truncated(length, $"section {i} ({(EifSectionType)type}), which needs {size} bytes from offset {dataOffset}, but {length - dataOffset} are left");
            }

            var section = new EifSection((EifSectionType)type, position, (long)size);

            if (section.Type is not EifSectionType.Ramdisk && sections.Exists(s => s.Type == section.Type))
            {
                throw new EifFormatException(EifError.DuplicateSection, position, $"section {i} is a second {section.Type} section");
            }

            sections.Add(section);
            position = section.End;
        }

        if (position != length)
        {
            throw new EifFormatException(EifError.TrailingData, position, $"{length - position} bytes follow the last of the {sections.Count} declared sections");
        }

        RequireSection(sections, EifSectionType.Kernel, EifError.MissingKernel);
        RequireSection(sections, EifSectionType.Cmdline, EifError.MissingCmdline);
        RequireSection(sections, EifSectionType.Ramdisk, EifError.MissingRamdisk);
        return sections;
    }

    private static void RequireSection(List<EifSection> sections, EifSectionType type, EifError error)
    {
        if (!sections.Exists(s => s.Type == type))
        {
            throw new EifFormatException(error, EifHeader.SectionCountOffset, $"the image has no {type} section");
        }
    }

    private static EifFormatException Truncated(long offset, string what) =>
        new(EifError.Truncated, offset, $"the file ends inside {what}");

    private byte[] ReadSmallSection(EifSection section, int limit)
    {
        if (section.Size > limit)
        {
            var error = section.Type == EifSectionType.Signature ? EifError.BadSignatureSection : EifError.BadMetadata;
            throw new EifFormatException(error, section.HeaderOffset + 4, $"the {section.Type} section is {section.Size} bytes, more than the {limit} allowed");
        }

        var bytes = new byte[section.Size];
        _stream.Position = section.DataOffset;
        var read = _stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return read == bytes.Length ? bytes : throw Truncated(section.DataOffset + read, $"the {section.Type} section");
    }
}
