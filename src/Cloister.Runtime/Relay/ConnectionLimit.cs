namespace Cloister.Runtime.Relay;

/// <summary>
/// Bounds how many connections a server holds at once. A connection over the bound is still accepted, so the server can
/// read its request and answer why not (a proxy's 503, the egress forwarder's <c>ERR</c>), but at most
/// <see cref="MaxRefusing"/> such refusals are in progress at once: past that the server stops accepting until one ends,
/// and new connections wait in the listener's backlog. Nothing a peer does can make the server hold more than
/// <see cref="MaxOpen"/> + <see cref="MaxRefusing"/> connections.
/// </summary>
public sealed class ConnectionLimit : IDisposable
{
    /// <summary>How many refusals may be in progress at once.</summary>
    public const int MaxRefusing = 64;

    private readonly SemaphoreSlim _refusing = new(MaxRefusing, MaxRefusing);
    private int _open;

    /// <summary>Creates a limit.</summary>
    /// <param name="maxOpen">The most connections served at once.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxOpen"/> is less than 1.</exception>
    public ConnectionLimit(int maxOpen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOpen, 1);
        MaxOpen = maxOpen;
    }

    /// <summary>The most connections served at once.</summary>
    public int MaxOpen { get; }

    /// <summary>How many connections are being served now (refusals not counted).</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>
    /// Waits until a connection could be refused if it had to be, accepts one, and decides whether it is served: it is when
    /// fewer than <see cref="MaxOpen"/> are.
    /// </summary>
    /// <typeparam name="TConnection">The accepted connection's type.</typeparam>
    /// <param name="accept">Accepts the next connection.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The connection and its slot, which the server disposes when the connection ends, whether served or refused.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="accept"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <remarks>Whatever <paramref name="accept"/> throws surfaces unchanged, and takes no slot.</remarks>
    public async ValueTask<(TConnection Connection, ConnectionSlot Slot)> AcceptAsync<TConnection>(
        Func<CancellationToken, ValueTask<TConnection>> accept,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accept);
        // The refusal's room is taken before accepting, so a connection once accepted can always be answered.
        await _refusing.WaitAsync(cancellationToken);
        TConnection connection;
        try
        {
            connection = await accept(cancellationToken);
        }
        catch
        {
            _refusing.Release();
            throw;
        }

        if (Interlocked.Increment(ref _open) <= MaxOpen)
        {
            _refusing.Release();
            return (connection, new ConnectionSlot(this, admitted: true));
        }

        Interlocked.Decrement(ref _open);
        return (connection, new ConnectionSlot(this, admitted: false));
    }

    /// <summary>Releases the limit's wait handle; call once every connection's slot has been disposed.</summary>
    public void Dispose() => _refusing.Dispose();

    internal void Release(bool admitted)
    {
        if (admitted)
        {
            Interlocked.Decrement(ref _open);
        }
        else
        {
            _refusing.Release();
        }
    }
}
