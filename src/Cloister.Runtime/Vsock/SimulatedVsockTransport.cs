using System.Net.Sockets;
using System.Runtime.InteropServices;
using Cloister.Runtime.Sockets;

namespace Cloister.Runtime.Vsock;

/// <summary>
/// The simulator's vsock: the address <c>(cid, port)</c> is the Unix socket <c>&lt;run-dir&gt;/vsock/&lt;cid&gt;_&lt;port&gt;.sock</c>.
/// Beside it each listener binds the datagram socket <c>&lt;cid&gt;_&lt;port&gt;.fd</c>, which takes whole connections
/// handed over by the other side (<see cref="VsockTransport.HandOverAsync"/>).
/// </summary>
internal sealed class SimulatedVsockTransport(string runDirectory, uint localCid) : VsockTransport
{
    // A listener whose queue of handed-over connections is full is busy accepting; this long is a burst, longer is a stall.
    private static readonly TimeSpan s_handOverPatience = TimeSpan.FromSeconds(2);

    // One unbound datagram socket sends every hand-over (each names its destination); like the transport, it lives as long
    // as the process.
    private readonly Lazy<SafeHandle> _handOverSender = new(DescriptorPassing.CreateDatagramSocket);

    public override uint LocalCid => localCid;

    public override bool CanHandOver => true;

    private protected override ValueTask<VsockListener> ListenCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken)
    {
        var bound = endpoint.Cid == VsockEndpoint.AnyCid ? new VsockEndpoint(localCid, endpoint.Port) : endpoint;
        var path = GetSimulatedSocketPath(runDirectory, bound);
        var socket = UnixSocketFile.Listen(path);
        try
        {
            return ValueTask.FromResult<VsockListener>(new Listener(bound, path, socket, UnixSocketFile.BindDatagram(HandOverPath(path))));
        }
        catch
        {
            socket.Dispose();
            UnixSocketFile.Delete(path);
            throw;
        }
    }

    private protected override async ValueTask<VsockStream> ConnectCoreAsync(VsockEndpoint endpoint, CancellationToken cancellationToken)
    {
        var path = GetSimulatedSocketPath(runDirectory, endpoint);
        var socket = await UnixSocketFile.TryConnectAsync(path, cancellationToken)
            ?? throw new VsockConnectException(endpoint, File.Exists(path) ? $"{path} refuses connections" : $"no socket at {path}", null);
        return new VsockStream(socket, endpoint);
    }

    private protected override async ValueTask HandOverCoreAsync(VsockEndpoint endpoint, Socket connection, ReadOnlyMemory<byte> preamble, CancellationToken cancellationToken)
    {
        var path = HandOverPath(GetSimulatedSocketPath(runDirectory, endpoint));
        var address = UnixSocketFile.CreateEndPoint(path);
        var giveUp = DateTime.UtcNow + s_handOverPatience;
        while (true)
        {
            var errno = DescriptorPassing.TrySend(_handOverSender.Value, address, connection.SafeHandle, preamble.Span);
            switch (errno)
            {
                case 0:
                    return;
                case SocketInterop.Eagain when DateTime.UtcNow < giveUp:
                    await Task.Delay(TimeSpan.FromMilliseconds(1), cancellationToken);
                    break;
                case SocketInterop.Eagain:
                    throw new IOException($"handing a connection over to vsock {endpoint}: its listener took none for {s_handOverPatience.TotalSeconds} s");
                case SocketInterop.Enoent or SocketInterop.Econnrefused:
                    throw new VsockConnectException(endpoint, File.Exists(path) ? $"{path} refuses connections" : $"no socket at {path}", null);
                default:
                    throw new IOException($"handing a connection over to vsock {endpoint} ({path}) failed: {SocketInterop.Describe(errno)}");
            }
        }
    }

    private static string HandOverPath(string socketPath) => Path.ChangeExtension(socketPath, ".fd");

    /// <summary>
    /// Accepts from both sockets of a simulated port into one queue: stream connections, and connections handed over as
    /// descriptors (.NET cannot receive a datagram's ancillary data asynchronously, so one poll(2) thread serves both).
    /// </summary>
    private sealed class Listener : QueuedVsockListener
    {
        private const int StreamSocket = 0;

        private readonly string _path;
        private readonly Socket _socket;
        private readonly SafeHandle _handOvers;
        private readonly byte[] _payload = new byte[DescriptorPassing.MaxPayloadLength];

        public Listener(VsockEndpoint endpoint, string path, Socket socket, SafeHandle handOvers)
            : base(endpoint, [socket.SafeHandle, handOvers], pollTimeoutMilliseconds: -1)
        {
            _path = path;
            _socket = socket;
            // accept4 must never block the one thread that also receives the hand-overs.
            _socket.Blocking = false;
            _handOvers = handOvers;
            StartAccepting();
        }

        // A shut-down datagram socket reads as readable, which ends the poll.
        private protected override void WakeAcceptLoop() => DescriptorPassing.Shutdown(_handOvers);

        private protected override void ReleaseSockets()
        {
            _socket.Dispose();
            _handOvers.Dispose();
            UnixSocketFile.Delete(_path);
            UnixSocketFile.Delete(HandOverPath(_path));
        }

        private protected override VsockStream? TakeConnection(int socket)
        {
            if (socket == StreamSocket)
            {
                var fd = Accept(_socket.SafeHandle, []);
                return fd < 0 ? null : Wrap(fd, preamble: default);
            }

            var received = DescriptorPassing.Receive(_handOvers, _payload);
            // A datagram that is not exactly one descriptor and a payload can only come from a broken sender of this user
            // (the socket file is the owner's alone), or be the shutdown's empty one: it is dropped, its descriptors
            // already closed.
            return received.Descriptor < 0 ? null : Wrap(received.Descriptor, _payload.AsSpan(0, received.Length).ToArray());
        }

        private static VsockStream? Wrap(int fd, ReadOnlyMemory<byte> preamble)
        {
            var handle = new SafeSocketHandle((IntPtr)fd, ownsHandle: true);
            try
            {
                return new VsockStream(new Socket(handle), remoteEndpoint: null, preamble);
            }
            catch (SocketException)
            {
                handle.Dispose();
                return null;
            }
        }
    }
}
