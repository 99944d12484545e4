using System.Buffers;

namespace Cloister.Host.Ingress;

/// <summary>
/// Copies bytes both ways between two connections with pooled buffers. When one side ends its sending half, the other
/// side's sending half is ended too (half-close), and the pipe finishes once both directions have.
/// </summary>
internal static class DuplexPipe
{
    private const int BufferSize = 64 * 1024;

    public static Task RunAsync(Stream left, Action completeLeftWrites, Stream right, Action completeRightWrites, CancellationToken cancellationToken) =>
        Task.WhenAll(
            CopyAsync(left, right, completeRightWrites, cancellationToken),
            CopyAsync(right, left, completeLeftWrites, cancellationToken));

    private static async Task CopyAsync(Stream source, Stream destination, Action completeDestinationWrites, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            completeDestinationWrites();
        }
        catch
        {
            // A failed direction ends the other one too, which would otherwise wait on a peer that never speaks again.
            await source.DisposeAsync();
            await destination.DisposeAsync();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
