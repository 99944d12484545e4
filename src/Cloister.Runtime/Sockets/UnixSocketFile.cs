using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Cloister.Runtime.Sockets;

/// <summary>
/// Binding and connecting Unix sockets named by a file path, as the simulator's vsock and NSM use them: stream sockets, and
/// the datagram sockets that take handed-over connections.
/// </summary>
internal static class UnixSocketFile
{
    // sun_path is 108 bytes on Linux and must hold the terminating NUL.
    internal const int MaxPathBytes = 107;

    /// <summary>Binds and listens on <paramref name="path"/>, replacing a socket file that nobody listens on any more.</summary>
    /// <exception cref="ArgumentException">The path is too long for a Unix socket.</exception>
    /// <exception cref="IOException">A live listener already owns the path, or binding failed.</exception>
    public static Socket Listen(string path)
    {
        var endPoint = PrepareToBind(path, SocketType.Stream);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(endPoint);
            RestrictToOwner(path);
            socket.Listen();
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"cannot listen on {path}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Binds a blocking datagram socket to <paramref name="path"/> for <see cref="DescriptorPassing"/>, replacing a socket
    /// file that nobody is bound to any more.
    /// </summary>
    /// <exception cref="ArgumentException">The path is too long for a Unix socket.</exception>
    /// <exception cref="IOException">A live socket already owns the path, or binding failed.</exception>
    public static SafeHandle BindDatagram(string path)
    {
        var endPoint = PrepareToBind(path, SocketType.Dgram);
        var socket = DescriptorPassing.CreateDatagramSocket();
        try
        {
            DescriptorPassing.Bind(socket, endPoint);
            RestrictToOwner(path);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects to the socket at <paramref name="path"/>.</summary>
    /// <returns>The connected socket, or <see langword="null"/> when no socket file exists there or nobody listens on it.</returns>
    /// <exception cref="ArgumentException">The path is too long for a Unix socket.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="IOException">Connecting failed for another reason.</exception>
    public static async ValueTask<Socket?> TryConnectAsync(string path, CancellationToken cancellationToken)
    {
        var endPoint = CreateEndPoint(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken);
            return socket;
        }
        catch (SocketException ex) when (IsNobodyListening(ex.SocketErrorCode))
        {
            socket.Dispose();
            return null;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new IOException($"cannot connect to {path}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Deletes the socket file a listener left behind, if any.</summary>
    public static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort on shutdown: a later Listen replaces a leftover file anyway.
        }
    }

    private static UnixDomainSocketEndPoint PrepareToBind(string path, SocketType type)
    {
        var endPoint = CreateEndPoint(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // Only the owner may reach the sockets: the sandbox runs as the same user, nobody else should connect.
        // Windows has AF_UNIX too, but guards its files with ACLs, not modes.
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        RemoveIfStale(path, endPoint, type);
        return endPoint;
    }

    private static void RestrictToOwner(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>The address of the socket file at <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The path is empty or too long for a Unix socket.</exception>
    public static UnixDomainSocketEndPoint CreateEndPoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var length = Encoding.UTF8.GetByteCount(path);
        return length > MaxPathBytes
            ? throw new ArgumentException($"socket path '{path}' is {length} bytes; a Unix socket path holds at most {MaxPathBytes}: use a shorter run directory", nameof(path))
            : new UnixDomainSocketEndPoint(path);
    }

    private static void RemoveIfStale(string path, UnixDomainSocketEndPoint endPoint, SocketType type)
    {
        if (!File.Exists(path))
        {
            return;
        }

        // A file that refuses connections is what a crashed listener leaves; one that accepts is somebody's live socket.
        using var probe = new Socket(AddressFamily.Unix, type, ProtocolType.Unspecified);
        try
        {
            probe.Connect(endPoint);
        }
        catch (SocketException ex) when (IsNobodyListening(ex.SocketErrorCode))
        {
            File.Delete(path);
            return;
        }

        throw new IOException($"cannot listen on {path}: another process is listening there");
    }

    private static bool IsNobodyListening(SocketError error) =>
        error is SocketError.ConnectionRefused or SocketError.AddressNotAvailable;
}
