using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Cloister.Build.Eif;

/// <summary>
/// The one pass over an image's sections that every reader and writer path shares: the CRC of the section
/// area and the three SHA-384 streams behind PCR0, PCR1 and PCR2.
/// </summary>
/// <remarks>
/// PCR0 hashes every measured byte and PCR1/PCR2 hash them again (split at the first ramdisk), so each byte goes
/// through SHA-384 twice. The PCR0 hasher runs on a worker thread while the caller's thread runs PCR1/PCR2 and
/// the CRC over the same buffer; with two cores that costs about one SHA-384 pass. Data is streamed through two
/// alternating pooled buffers, so memory stays constant whatever the image size.
/// </remarks>
internal sealed class EifDigest : IDisposable
{
    /// <summary>The read size: large enough that the per-chunk hand-off to the worker is noise.</summary>
    internal const int ChunkSize = 1 << 20;

    // Below this a chunk is hashed inline: starting a work item would cost more than it saves.
    private const int ParallelThreshold = 64 * 1024;

    private readonly IncrementalHash _all = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
    private readonly IncrementalHash _bootstrap = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
    private readonly IncrementalHash _application = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
    private readonly Crc32 _sectionsCrc = new();
    private Task _pendingAll = Task.CompletedTask;
    private IncrementalHash? _current;
    private int _ramdisks;

    /// <summary>The number of bytes CRC'd so far: everything from the end of the EIF header on.</summary>
    public long SectionBytes { get; private set; }

    /// <summary>Starts a section: CRCs its 12-byte header and routes its data to the hashers its type calls for.</summary>
    public void BeginSection(EifSection section)
    {
        Span<byte> header = stackalloc byte[EifSection.HeaderSize];
        section.WriteHeader(header);
        AppendCrc(header);
        _current = section.Type switch
        {
            EifSectionType.Kernel or EifSectionType.Cmdline => _bootstrap,
            EifSectionType.Ramdisk => _ramdisks++ == 0 ? _bootstrap : _application,
            _ => null,
        };
    }

    /// <summary>
    /// Adds data of the current section. The PCR0 hash of <paramref name="data"/> may still be running when this
    /// returns: the caller must leave that memory untouched until its next call to this method or to
    /// <see cref="Complete"/> has returned (alternate two buffers).
    /// </summary>
    public void Append(ReadOnlyMemory<byte> data)
    {
        if (_current is null)
        {
            AppendCrc(data.Span);
            return;
        }

        _pendingAll.GetAwaiter().GetResult();
        if (data.Length >= ParallelThreshold)
        {
            _pendingAll = Task.Run(() => _all.AppendData(data.Span));
        }
        else
        {
            _all.AppendData(data.Span);
            _pendingAll = Task.CompletedTask;
        }

        _current.AppendData(data.Span);
        AppendCrc(data.Span);
    }

    /// <summary>Finishes the hashes; <paramref name="pcr8"/> is the image's PCR8 when it is signed.</summary>
    public EifMeasurements Complete(byte[]? pcr8)
    {
        _pendingAll.GetAwaiter().GetResult();
        return new EifMeasurements(
            Pcr.ExtendZero(_all.GetHashAndReset()),
            Pcr.ExtendZero(_bootstrap.GetHashAndReset()),
            Pcr.ExtendZero(_application.GetHashAndReset()),
            pcr8);
    }

    /// <summary>The file CRC: the header's first 544 bytes followed by everything CRC'd so far.</summary>
    public uint FileCrc(ReadOnlySpan<byte> header)
    {
        var headerCrc = Crc32.HashToUInt32(header[..EifHeader.CrcOffset]);
        return Crc32Combination.Combine(headerCrc, _sectionsCrc.GetCurrentHashAsUInt32(), SectionBytes);
    }

    /// <summary>
    /// Streams <paramref name="length"/> bytes of the current section from <paramref name="source"/> into the digest
    /// and, when given, to <paramref name="destination"/>; returns the number of bytes actually read, less than
    /// <paramref name="length"/> only if the source ended.
    /// </summary>
    public long Pump(Stream source, long length, Stream? destination)
    {
        var first = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var second = ArrayPool<byte>.Shared.Rent(ChunkSize);
        long done = 0;
        try
        {
            var buffer = first;
            while (done < length)
            {
                var read = source.ReadAtLeast(buffer.AsSpan(0, (int)Math.Min(ChunkSize, length - done)), 1, throwOnEndOfStream: false);
                if (read == 0)
                {
                    break;
                }

                var chunk = buffer.AsMemory(0, read);
                Append(chunk);
                destination?.Write(chunk.Span);
                done += read;
                buffer = buffer == first ? second : first;
            }
        }
        finally
        {
            // The worker may still be reading the last chunk; wait before the buffers go back to the pool.
            _pendingAll.GetAwaiter().GetResult();
            ArrayPool<byte>.Shared.Return(first);
            ArrayPool<byte>.Shared.Return(second);
        }

        return done;
    }

    public void Dispose()
    {
        _pendingAll.GetAwaiter().GetResult();
        _all.Dispose();
        _bootstrap.Dispose();
        _application.Dispose();
    }

    private void AppendCrc(ReadOnlySpan<byte> data)
    {
        _sectionsCrc.Append(data);
        SectionBytes += data.Length;
    }
}
