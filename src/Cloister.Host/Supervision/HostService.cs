using Cloister.Runtime.Vsock;

namespace Cloister.Host.Supervision;

/// <summary>
/// One host vsock service (DESIGN.md, "vsock ports"): the port the host listens on for the enclave, and what serves it.
/// <see cref="HostSupervisor"/> listens on every service before it starts the enclave and tears them all down the same
/// way when the run ends.
/// </summary>
public sealed class HostService
{
    private readonly Func<VsockStream, CancellationToken, Task>? _perConnection;
    private readonly Func<VsockListener, CancellationToken, Task>? _onListener;

    private HostService(uint port, string name, Func<VsockStream, CancellationToken, Task>? perConnection, Func<VsockListener, CancellationToken, Task>? onListener)
    {
        Port = port;
        Name = name;
        _perConnection = perConnection;
        _onListener = onListener;
    }

    /// <summary>The host vsock port.</summary>
    public uint Port { get; }

    /// <summary>What the service is, for the host's lines (<c>egress</c>, <c>provisioner relay</c>, …).</summary>
    public string Name { get; }

    /// <summary>A service that handles each accepted connection on its own; the supervisor accepts, disposes and drains.</summary>
    /// <param name="port">The host vsock port.</param>
    /// <param name="name">What the service is.</param>
    /// <param name="serve">
    /// Serves one connection (the supervisor disposes it afterwards). <see cref="IOException"/>,
    /// <see cref="InvalidDataException"/> and <see cref="EndOfStreamException"/> become one host line naming the port.
    /// </param>
    /// <returns>The service.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="serve"/> is <see langword="null"/>.</exception>
    public static HostService PerConnection(uint port, string name, Func<VsockStream, CancellationToken, Task> serve)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(serve);
        return new HostService(port, name, serve, null);
    }

    /// <summary>A service that runs its own accept loop on the listener (the egress forwarder counts its tunnels).</summary>
    /// <param name="port">The host vsock port.</param>
    /// <param name="name">What the service is.</param>
    /// <param name="serve">Serves the listener until the token is cancelled; the supervisor owns and disposes the listener.</param>
    /// <returns>The service.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="serve"/> is <see langword="null"/>.</exception>
    public static HostService OnListener(uint port, string name, Func<VsockListener, CancellationToken, Task> serve)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(serve);
        return new HostService(port, name, null, serve);
    }

    /// <summary>Starts serving <paramref name="listener"/>; the result says how to wait for its connections at the end.</summary>
    internal RunningHostService Start(VsockListener listener, Action<string> failed, CancellationToken cancellationToken)
    {
        if (_onListener is { } onListener)
        {
            return new RunningHostService(onListener(listener, cancellationToken), _ => Task.CompletedTask);
        }

        var connections = new ConnectionService(listener, _perConnection!, failed);
        return new RunningHostService(connections.AcceptAsync(cancellationToken), connections.DrainAsync);
    }
}

/// <summary>A service being served: its task, and a wait for its open connections to end by themselves.</summary>
internal sealed record RunningHostService(Task Serving, Func<TimeSpan, Task> DrainAsync);
