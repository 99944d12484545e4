using Cloister.Build.Streams;

namespace Cloister.Build.Eif;

/// <summary>A read-only, seekable window onto one section's data inside the image stream.</summary>
internal sealed class SectionStream(Stream image, long start, long length) : ReadOnlyWindowStream(length)
{
    // Each read positions the shared image stream itself, so several section streams can be used in turn.
    protected override int ReadAt(long position, Span<byte> buffer)
    {
        image.Position = start + position;
        return image.Read(buffer);
    }

    protected override ValueTask<int> ReadAtAsync(long position, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        image.Position = start + position;
        return image.ReadAsync(buffer, cancellationToken);
    }
}
