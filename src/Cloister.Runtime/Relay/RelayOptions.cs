using System.Buffers;

namespace Cloister.Runtime.Relay;

/// <summary>How long a relay tolerates silence, and where its buffers come from.</summary>
public sealed class RelayOptions
{
    /// <summary>No idle timeout, buffers from <see cref="ArrayPool{T}.Shared"/>, the system clock.</summary>
    public static RelayOptions Default { get; } = new();

    /// <summary>
    /// How long neither direction may carry a byte before the relay ends both sides cleanly (each gets end of stream);
    /// <see cref="Timeout.InfiniteTimeSpan"/> (the default) never ends an idle relay.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Where each direction rents its buffer while bytes are moving; an idle direction holds none. A relay never holds more
    /// than one buffer per direction.
    /// </summary>
    public ArrayPool<byte> BufferPool { get; init; } = ArrayPool<byte>.Shared;

    /// <summary>The clock that <see cref="IdleTimeout"/> is measured on.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Checks an idle timeout as options take it: positive, or <see cref="Timeout.InfiniteTimeSpan"/> for none.</summary>
    /// <param name="timeout">The timeout.</param>
    /// <param name="name">The option's name, for the exception.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is neither.</exception>
    public static void ValidateIdleTimeout(TimeSpan timeout, string name)
    {
        if (timeout <= TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, timeout, "an idle timeout must be positive, or infinite for none");
        }
    }
}
