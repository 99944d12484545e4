using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Cloister.Build.Eif;

/// <summary>
/// The one pass over an image's sections that every reader and writer path shares: the CRC of the section
/// area and the three SHA-384 streams behind PCR0, PCR1 and PCR2.
/// </summary>
/// <remarks>
/// PCR0 hashes every measured byte and PCR1/PCR2 hash them again (split at the first ramdisk), so each byte goes
/// through SHA-384 twice. Two hashing threads, one for PCR0 and one for PCR1/PCR2, consume the same sequence of
/// chunks while the caller's thread reads, CRCs and writes; with two cores the double hash costs about one pass.
/// The threads are decoupled by a small ring of pooled buffers, so neither waits for the other chunk by chunk
/// (on a busy machine a per-chunk barrier made every scheduling hiccup of one thread stall both), and memory
/// stays constant (<see cref="BufferCount"/> × <see cref="ChunkSize"/>) whatever the image size.
/// </remarks>
internal sealed class EifDigest : IDisposable
{
    /// <summary>The read size: large enough that the hand-off per chunk is noise.</summary>
    internal const int ChunkSize = 1 << 20;

    /// <summary>How far the hashing threads may lag behind the reader.</summary>
    internal const int BufferCount = 4;

    private readonly IncrementalHash _all = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
    private readonly IncrementalHash _bootstrap = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
    private readonly IncrementalHash _application = IncrementalHash.CreateHash(HashAlgorithmName.SHA384);
    private readonly Crc32 _sectionsCrc = new();
    private readonly BlockingCollection<Chunk> _free = new(BufferCount);
    private readonly HashLane _allLane;
    private readonly HashLane _splitLane;
    private IncrementalHash? _current;
    private int _ramdisks;
    private bool _completed;

    public EifDigest()
    {
        for (var i = 0; i < BufferCount; i++)
        {
            _free.Add(new Chunk(ArrayPool<byte>.Shared.Rent(ChunkSize)));
        }

        _allLane = new HashLane(_free, _ => _all);
        _splitLane = new HashLane(_free, chunk => chunk.Target);
    }

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

    /// <summary>Adds in-memory data of the current section.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (_current is null)
        {
            AppendCrc(data);
            return;
        }

        while (!data.IsEmpty)
        {
            var chunk = _free.Take();
            var length = Math.Min(data.Length, chunk.Buffer.Length);
            data[..length].CopyTo(chunk.Buffer);
            Submit(chunk, length);
            data = data[length..];
        }
    }

    /// <summary>
    /// Streams <paramref name="length"/> bytes of the current section from <paramref name="source"/> into the digest
    /// and, when given, to <paramref name="destination"/>; returns the number of bytes actually read, less than
    /// <paramref name="length"/> only if the source ended.
    /// </summary>
    public long Pump(Stream source, long length, Stream? destination)
    {
        long done = 0;
        while (done < length)
        {
            var chunk = _free.Take();
            var wanted = (int)Math.Min(chunk.Buffer.Length, length - done);
            var read = source.ReadAtLeast(chunk.Buffer.AsSpan(0, wanted), wanted, throwOnEndOfStream: false);
            if (read > 0)
            {
                destination?.Write(chunk.Buffer, 0, read);
            }

            Submit(chunk, read);
            done += read;
            if (read < wanted)
            {
                break;
            }
        }

        return done;
    }

    /// <summary>Finishes the hashes; <paramref name="pcr8"/> is the image's PCR8 when it is signed. Later data is only CRC'd.</summary>
    public EifMeasurements Complete(byte[]? pcr8)
    {
        if (StopLanes() is { } failure)
        {
            throw new CryptographicException("hashing an EIF section failed", failure);
        }

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

    public void Dispose()
    {
        StopLanes();
        while (_free.TryTake(out var chunk))
        {
            ArrayPool<byte>.Shared.Return(chunk.Buffer);
        }

        _free.Dispose();
        _allLane.Dispose();
        _splitLane.Dispose();
        _all.Dispose();
        _bootstrap.Dispose();
        _application.Dispose();
    }

    private void Submit(Chunk chunk, int length)
    {
        AppendCrc(chunk.Buffer.AsSpan(0, length));
        if (_current is null || length == 0 || _completed)
        {
            _free.Add(chunk);
            return;
        }

        chunk.Length = length;
        chunk.Target = _current;
        chunk.Pending = 2;
        _allLane.Enqueue(chunk);
        _splitLane.Enqueue(chunk);
    }

    /// <summary>Waits for both hashing threads to drain and stop; returns the first failure of either.</summary>
    private Exception? StopLanes()
    {
        if (_completed)
        {
            return null;
        }

        _completed = true;
        var allFailure = _allLane.Finish();
        var splitFailure = _splitLane.Finish();
        return allFailure ?? splitFailure;
    }

    private void AppendCrc(ReadOnlySpan<byte> data)
    {
        _sectionsCrc.Append(data);
        SectionBytes += data.Length;
    }

    /// <summary>A buffer on its way through both hashing threads; back in the free ring when both are done.</summary>
    private sealed class Chunk(byte[] buffer)
    {
        public byte[] Buffer { get; } = buffer;

        public int Length { get; set; }

        public IncrementalHash? Target { get; set; }

        public int Pending;
    }

    /// <summary>One hashing thread fed in chunk order.</summary>
    private sealed class HashLane : IDisposable
    {
        private readonly BlockingCollection<Chunk> _queue = new(BufferCount);
        private readonly BlockingCollection<Chunk> _free;
        private readonly Func<Chunk, IncrementalHash?> _hashFor;
        private readonly Thread _thread;
        private Exception? _failure;

        public HashLane(BlockingCollection<Chunk> free, Func<Chunk, IncrementalHash?> hashFor)
        {
            _free = free;
            _hashFor = hashFor;
            _thread = new Thread(Run) { IsBackground = true, Name = "EIF SHA-384" };
            _thread.Start();
        }

        public void Enqueue(Chunk chunk) => _queue.Add(chunk);

        /// <summary>Waits until every queued chunk is hashed and the thread has ended; returns its failure, if any.</summary>
        public Exception? Finish()
        {
            _queue.CompleteAdding();
            _thread.Join();
            return _failure;
        }

        public void Dispose() => _queue.Dispose();

        private void Run()
        {
            foreach (var chunk in _queue.GetConsumingEnumerable())
            {
                try
                {
                    if (_failure is null)
                    {
                        _hashFor(chunk)?.AppendData(chunk.Buffer, 0, chunk.Length);
                    }
                }
#pragma warning disable CA1031 // Any failure is handed to the caller's thread in Finish; the loop must keep recycling buffers.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    _failure = ex;
                }

                if (Interlocked.Decrement(ref chunk.Pending) == 0)
                {
                    _free.Add(chunk);
                }
            }
        }
    }
}
