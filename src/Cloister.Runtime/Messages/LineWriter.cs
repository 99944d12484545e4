using System.Buffers;

namespace Cloister.Runtime.Messages;

/// <summary>
/// The writing side the line protocols share: formats into one reused buffer and sends each batch of lines in a single
/// write, one writer at a time, so lines from concurrent producers never interleave.
/// </summary>
internal sealed class LineWriter(Stream stream) : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>Lets <paramref name="format"/> write whole lines (each with its <c>'\n'</c>) and sends them.</summary>
    public async ValueTask WriteAsync<TState>(TState state, Action<TState, IBufferWriter<byte>> format, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            _buffer.ResetWrittenCount();
            format(state, _buffer);
            await stream.WriteAsync(_buffer.WrittenMemory, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();
}
