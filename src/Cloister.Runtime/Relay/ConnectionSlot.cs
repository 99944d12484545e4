namespace Cloister.Runtime.Relay;

/// <summary>One accepted connection's place under a <see cref="ConnectionLimit"/>; disposing it frees the place.</summary>
public sealed class ConnectionSlot : IDisposable
{
    private ConnectionLimit? _limit;

    internal ConnectionSlot(ConnectionLimit limit, bool admitted)
    {
        _limit = limit;
        IsAdmitted = admitted;
    }

    /// <summary>Whether the connection may be served; otherwise it is to be answered with a refusal and closed.</summary>
    public bool IsAdmitted { get; }

    /// <summary>Frees the place, once; further calls do nothing.</summary>
    public void Dispose() => Interlocked.Exchange(ref _limit, null)?.Release(IsAdmitted);
}
