using System.Buffers;

namespace Cloister.Enclave.LocalApi;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> on arrays rented from the shared pool, so a response body costs no allocation once
/// the pool is warm. What was written is erased when it is returned: it may be plaintext.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
    }

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        Return(_buffer, _written);
        _buffer = [];
        _written = 0;
    }

    private void Reserve(int sizeHint)
    {
        var needed = checked(_written + Math.Max(sizeHint, 1));
        if (needed <= _buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, (int)Math.Min(Array.MaxLength, 2L * _buffer.Length)));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        Return(_buffer, _written);
        _buffer = larger;
    }

    // Only the written part holds anything of ours: Utf8JsonWriter advances over everything it writes.
    private static void Return(byte[] buffer, int written)
    {
        buffer.AsSpan(0, written).Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
