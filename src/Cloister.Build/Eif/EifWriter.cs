namespace Cloister.Build.Eif;

/// <summary>
/// Writes sections one after another, CRC'ing and measuring them as they stream past, then the signature
/// (which needs PCR0) and finally the header (which needs every size), seeking back to the start to write it.
/// </summary>
internal sealed class EifWriter : IDisposable
{
    private readonly Stream _output;
    private readonly long _origin;
    private readonly EifArchitecture _architecture;
    private readonly List<EifSection> _sections = [];
    private readonly EifDigest _digest = new();
    private long _next = EifHeader.Size;

    public EifWriter(Stream output, EifArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanSeek || !output.CanWrite)
        {
            throw new ArgumentException("the EIF output must be a writable, seekable stream (the header is written last)", nameof(output));
        }

        _output = output;
        _origin = output.Position;
        _architecture = architecture;
        output.Write(new byte[EifHeader.Size]);
    }

    public void WriteSection(EifSectionType type, Stream data, long length)
    {
        var section = BeginSection(type, length);
        var written = _digest.Pump(data, length, _output);
        if (written != length)
        {
            throw new EifFormatException(EifError.Truncated, section.DataOffset + written, $"the {type} input ended after {written} of {length} bytes");
        }
    }

    public void WriteSection(EifSectionType type, byte[] data)
    {
        BeginSection(type, data.Length);
        _digest.Append(data);
        _output.Write(data);
    }

    public EifMeasurements Finish(EifSigner? signer)
    {
        var measurements = _digest.Complete(signer is null ? null : Pcr.ForCertificate(signer.Certificate));
        if (signer is not null)
        {
            WriteSection(EifSectionType.Signature, signer.CreateSignatureSection(measurements.Pcr0));
        }

        var header = new byte[EifHeader.Size];
        EifHeader.Create(_architecture, _sections, 0).WriteTo(header);
        EifHeader.Create(_architecture, _sections, _digest.FileCrc(header)).WriteTo(header);
        var end = _output.Position;
        _output.Position = _origin;
        _output.Write(header);
        _output.Position = end;
        return measurements;
    }

    public void Dispose() => _digest.Dispose();

    private EifSection BeginSection(EifSectionType type, long length)
    {
        if (_sections.Count == EifHeader.MaxSections)
        {
            throw new ArgumentException($"an EIF holds at most {EifHeader.MaxSections} sections; the {type} section would be one more");
        }

        var section = new EifSection(type, _next, length);
        _sections.Add(section);
        _next = section.End;
        _digest.BeginSection(section);
        Span<byte> header = stackalloc byte[EifSection.HeaderSize];
        section.WriteHeader(header);
        _output.Write(header);
        return section;
    }
}
