using System.Net.Sockets;

namespace Cloister.Runtime.Vsock;

/// <summary>Listens on and connects to vsock addresses, over AF_VSOCK or the simulator's Unix sockets.</summary>
public abstract class VsockTransport
{
    private protected VsockTransport()
    {
    }

    /// <summary>The CID this side listens on when no CID is named: its own in the simulation, <see cref="VsockEndpoint.AnyCid"/> natively.</summary>
    public abstract uint LocalCid { get; }

    /// <summary>
    /// Whether <see cref="HandOverAsync"/> works: only in the simulation, where both sides are processes of one machine.
    /// </summary>
    public virtual bool CanHandOver => false;

    /// <summary>Creates the transport the options name.</summary>
    /// <param name="options">The explicit choice.</param>
    /// <returns>The transport.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The simulation lacks its run directory or local CID, or the kind is unknown.</exception>
    public static VsockTransport Create(VsockTransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind switch
        {
            VsockTransportKind.Native => new NativeVsockTransport(),
            VsockTransportKind.Simulated => new SimulatedVsockTransport(
                options.RunDirectory is { Length: > 0 } runDirectory
                    ? runDirectory
                    : throw new ArgumentException("the simulated vsock transport needs RunDirectory", nameof(options)),
                options.LocalCid is { } cid and not VsockEndpoint.AnyCid
                    ? cid
                    : throw new ArgumentException("the simulated vsock transport needs this side's LocalCid", nameof(options))),
            _ => throw new ArgumentException($"unknown vsock transport kind {options.Kind}", nameof(options)),
        };
    }

    /// <summary>The folder of a simulator run that holds its vsock sockets, to bind-mount into the sandbox.</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <returns><c>&lt;run-dir&gt;/vsock</c>.</returns>
    public static string GetSimulatedSocketDirectory(string runDirectory) => Path.Combine(runDirectory, "vsock");

    /// <summary>The Unix socket that stands for a vsock address in a simulator run.</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <param name="endpoint">The vsock address.</param>
    /// <returns><c>&lt;run-dir&gt;/vsock/&lt;cid&gt;_&lt;port&gt;.sock</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoint"/> is <see langword="null"/>.</exception>
    public static string GetSimulatedSocketPath(string runDirectory, VsockEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return Path.Combine(GetSimulatedSocketDirectory(runDirectory), $"{endpoint.Cid}_{endpoint.Port}.sock");
    }

    /// <summary>Listens on a port of this side's own CID.</summary>
    /// <param name="port">The port.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<VsockListener> ListenAsync(uint port, CancellationToken cancellationToken = default) =>
        ListenAsync(new VsockEndpoint(LocalCid, port), cancellationToken);

    /// <summary>Listens on an address; <see cref="VsockEndpoint.AnyCid"/> means this side's own CID.</summary>
    /// <param name="endpoint">The address.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The address is in use or cannot be bound.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<VsockListener> ListenAsync(VsockEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        cancellationToken.ThrowIfCancellationRequested();
        return ListenCoreAsync(endpoint, cancellationToken);
    }

    /// <summary>Connects to an address.</summary>
    /// <param name="endpoint">The address.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The connected stream.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="VsockConnectException">Nobody listens there.</exception>
    /// <exception cref="IOException">Connecting failed for another reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<VsockStream> ConnectAsync(VsockEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        cancellationToken.ThrowIfCancellationRequested();
        return ConnectCoreAsync(endpoint, cancellationToken);
    }

    /// <summary>
    /// Gives a connected socket of this process, whole, to the listener at <paramref name="endpoint"/>, which accepts a
    /// <see cref="VsockStream"/> over that very socket whose reads return <paramref name="preamble"/> first. The simulated
    /// host hands its ingress connections over this way instead of relaying them, which spares each request a hop;
    /// the listener's side of the code is the same either way. The caller then disposes its own <paramref name="connection"/>:
    /// the listener holds a descriptor of its own.
    /// </summary>
    /// <param name="endpoint">The listener's address.</param>
    /// <param name="connection">The connected socket.</param>
    /// <param name="preamble">Bytes the listener reads before the socket's own, at most 512.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes once the listener's process holds the connection.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="preamble"/> is longer than 512 bytes.</exception>
    /// <exception cref="NotSupportedException">The transport cannot hand connections over (<see cref="CanHandOver"/> is false).</exception>
    /// <exception cref="VsockConnectException">Nobody listens there.</exception>
    /// <exception cref="IOException">The listener took no connection for 2 s, or passing it failed for another reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask HandOverAsync(VsockEndpoint endpoint, Socket connection, ReadOnlyMemory<byte> preamble, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(connection);
        cancellationToken.ThrowIfCancellationRequested();
        return HandOverCoreAsync(endpoint, connection, preamble, cancellationToken);
    }

    private protected virtual ValueTask HandOverCoreAsync(VsockEndpoint endpoint, Socket connection, ReadOnlyMemory<byte> preamble, CancellationToken cancellationToken) =>
        throw new NotSupportedException("AF_VSOCK cannot hand a connection over: the peer is another machine");

    private protected abstract ValueTask<VsockListener> ListenCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken);

    private protected abstract ValueTask<VsockStream> ConnectCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken);
}
