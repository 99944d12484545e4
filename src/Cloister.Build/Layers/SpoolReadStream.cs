using Cloister.Build.Streams;
using Microsoft.Win32.SafeHandles;

namespace Cloister.Build.Layers;

/// <summary>A read-only window on the spool. Positional reads, so any number of windows can be open at once.</summary>
internal sealed class SpoolReadStream(SafeFileHandle handle, long start, long length) : ReadOnlyWindowStream(length)
{
    protected override int ReadAt(long position, Span<byte> buffer) => RandomAccess.Read(handle, buffer, start + position);

    protected override ValueTask<int> ReadAtAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken) =>
        RandomAccess.ReadAsync(handle, buffer, start + position, cancellationToken);
}
