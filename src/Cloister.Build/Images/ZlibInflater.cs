using System.Runtime.InteropServices;

namespace Cloister.Build.Images;

/// <summary>
/// zlib's <c>inflate</c> for one gzip member at a time (header, deflate data, CRC-32 and length all checked), through
/// the binding the runtime itself decompresses with: <c>System.IO.Compression.Native</c> (lib…so, lib…dylib or …dll, found under that name on every OS), the code behind
/// <see cref="System.IO.Compression.GZipStream"/>, shipped with every .NET runtime.
/// </summary>
/// <remarks>
/// GZipStream cannot tell where a member ends in its input, which strict multi-member decoding needs. The binding is
/// the runtime's private interface (src/native/libs/System.IO.Compression.Native/pal_zlib.h), stable within a major
/// version; the gzip tests exercise every call, so a change would show at once.
/// </remarks>
internal sealed unsafe partial class ZlibInflater : SafeHandle
{
    private const string Library = "System.IO.Compression.Native";

    /// <summary>A 32 KiB window and the gzip wrapper only: a zlib or raw deflate stream is not a gzip member.</summary>
    private const int GzipWindowBits = 15 + 16;

    private const int NoFlush = 0;
    private const int Ok = 0;
    private const int StreamEnd = 1;
    private const int DataError = -3;
    private const int MemoryError = -4;
    private const int BufferError = -5;

    public ZlibInflater()
        : base(0, ownsHandle: true)
    {
        handle = (nint)NativeMemory.AllocZeroed((nuint)sizeof(PalZStream));
    }

    public override bool IsInvalid => handle == 0;

    /// <summary>The binding's stream; refused once the handle is closed, when its memory is gone.</summary>
    private PalZStream* Stream
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (PalZStream*)handle;
        }
    }

    /// <summary>Readies the inflater for a new member, dropping the previous member's state.</summary>
    /// <exception cref="InsufficientMemoryException">zlib cannot allocate its state.</exception>
    /// <exception cref="ObjectDisposedException">The inflater is disposed.</exception>
    public void Restart()
    {
        End(Stream);
        if (InflateInit2(Stream, GzipWindowBits) is var status and not Ok)
        {
            End(Stream);
            throw status == MemoryError ? new InsufficientMemoryException("zlib cannot allocate an inflate state") : new InvalidOperationException($"zlib inflateInit2 returned {status}");
        }
    }

    /// <summary>Inflates what it can of <paramref name="input"/> into <paramref name="output"/> (which must not be empty).</summary>
    /// <returns>Whether the member ended here, its CRC-32 and length verified.</returns>
    /// <exception cref="InvalidDataException">The member is not valid gzip; the message is zlib's.</exception>
    /// <exception cref="ObjectDisposedException">The inflater is disposed.</exception>
    public bool Inflate(ReadOnlySpan<byte> input, Span<byte> output, out int consumed, out int produced)
    {
        var stream = Stream;
        int status;
        fixed (byte* next = input)
        fixed (byte* target = output)
        {
            stream->NextIn = next;
            stream->AvailIn = (uint)input.Length;
            stream->NextOut = target;
            stream->AvailOut = (uint)output.Length;
            status = Inflate(stream, NoFlush);
            consumed = input.Length - (int)stream->AvailIn;
            produced = output.Length - (int)stream->AvailOut;
            stream->NextIn = null;
            stream->NextOut = null;
        }

        return status switch
        {
            StreamEnd => true,
            Ok or BufferError => false,
            DataError => throw new InvalidDataException(Marshal.PtrToStringUTF8((nint)stream->Message) ?? "invalid deflate data"),
            MemoryError => throw new InsufficientMemoryException("zlib cannot allocate inflate memory"),
            _ => throw new InvalidDataException($"zlib inflate returned {status}"),
        };
    }

    protected override bool ReleaseHandle()
    {
        End((PalZStream*)handle);
        NativeMemory.Free((void*)handle);
        return true;
    }

    private static void End(PalZStream* stream)
    {
        if (stream->InternalState != 0)
        {
            _ = InflateEnd(stream);
        }
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    private static partial int InflateInit2(PalZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    private static partial int Inflate(PalZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    private static partial int InflateEnd(PalZStream* stream);

    /// <summary>The binding's <c>PAL_ZStream</c>; the real <c>z_stream</c> lives behind <see cref="InternalState"/>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct PalZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public byte* Message;
        public nint InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }
}
