namespace Cloister.Cli.Commands;

/// <summary>
/// Streams a response body to an output as it arrives, one buffer at a time, up to an optional limit; counts what it
/// wrote, so that a failure can say how much of the body the output holds.
/// </summary>
internal sealed class BodyStream(Stream output, long? limit)
{
    private const int BufferLength = 64 * 1024;

    /// <summary>The bytes written to the output so far.</summary>
    public long Written { get; private set; }

    /// <summary>Copies <paramref name="body"/> to the end, or until it goes past the limit (whose first bytes are written).</summary>
    /// <returns><see langword="true"/> when the whole body was written; <see langword="false"/> when it exceeded the limit.</returns>
    public async Task<bool> CopyAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferLength];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var room = limit is { } max ? max - Written : long.MaxValue;
            var take = (int)Math.Min(read, room);
            await output.WriteAsync(buffer.AsMemory(0, take), cancellationToken);
            Written += take;
            if (take < read)
            {
                return false;
            }
        }

        return true;
    }
}
