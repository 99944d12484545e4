using System.Buffers;

namespace Cloister.Runtime.Tests.Relay;

/// <summary>The shared pool, counting what is rented and not yet returned.</summary>
internal sealed class CountingArrayPool : ArrayPool<byte>
{
    private int _outstanding;
    private int _rented;

    /// <summary>Buffers rented and not returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Buffers rented in all.</summary>
    public int Rented => Volatile.Read(ref _rented);

    public override byte[] Rent(int minimumLength)
    {
        Interlocked.Increment(ref _rented);
        Interlocked.Increment(ref _outstanding);
        return Shared.Rent(minimumLength);
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        Interlocked.Decrement(ref _outstanding);
        Shared.Return(array, clearArray);
    }

    /// <summary>Waits until every buffer is back: a relay gives its buffers back when it goes quiet, just after it sent.</summary>
    public async Task WaitUntilAllReturnedAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (Outstanding != 0)
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
