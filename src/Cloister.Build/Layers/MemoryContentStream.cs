using Cloister.Build.Streams;

namespace Cloister.Build.Layers;

/// <summary>A read-only stream over memory that the caller may not give up as an array.</summary>
internal sealed class MemoryContentStream(ReadOnlyMemory<byte> bytes) : ReadOnlyWindowStream(bytes.Length)
{
    protected override int ReadAt(long position, Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, bytes.Length - position);
        bytes.Span.Slice((int)position, count).CopyTo(buffer);
        return count;
    }

    protected override ValueTask<int> ReadAtAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ValueTask.FromResult(ReadAt(position, buffer.Span));
}
