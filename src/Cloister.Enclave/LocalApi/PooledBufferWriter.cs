using System.Buffers;

namespace Cloister.Enclave.LocalApi;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> on arrays rented from the shared pool, so a response body costs no allocation once
/// the pool is warm, and bounded. What was written is erased when it is returned: it may be plaintext.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly int _maxLength;
    private readonly Func<Exception> _tooLarge;
    private byte[] _buffer;
    private int _written;

    /// <param name="initialCapacity">The first array's size (the pool may give more).</param>
    /// <param name="maxLength">The most bytes it holds.</param>
    /// <param name="tooLarge">Makes what is thrown when a write would pass <paramref name="maxLength"/>.</param>
    public PooledBufferWriter(int initialCapacity, int maxLength, Func<Exception> tooLarge)
    {
        _maxLength = maxLength;
        _tooLarge = tooLarge;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(initialCapacity, maxLength));
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
        var needed = (long)_written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        if (needed > _maxLength)
        {
            throw _tooLarge();
        }

        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Max(needed, Math.Min(_maxLength, 2L * _buffer.Length)));
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
