using Cloister.Runtime.Vsock;

namespace Cloister.Runtime.Messages;

/// <summary>
/// Nitro's boot heartbeat on vsock port 9000: AWS init connects to the host, writes 0xB7, and waits for the host to echo
/// it; without the echo the enclave reboots.
/// </summary>
public static class Heartbeat
{
    /// <summary>The heartbeat byte.</summary>
    public const byte Value = 0xB7;

    /// <summary>Host side: accepts one connection on the heartbeat listener and answers it.</summary>
    /// <param name="listener">The listener on <see cref="VsockEndpoint.HeartbeatPort"/>.</param>
    /// <param name="cancellationToken">Cancels the wait, e.g. at the boot timeout.</param>
    /// <returns>A task that completes once the heartbeat was echoed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="listener"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The enclave sent another byte.</exception>
    /// <exception cref="EndOfStreamException">The enclave closed the connection without sending the byte.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask AnswerAsync(VsockListener listener, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(listener);
        await using var stream = await listener.AcceptAsync(cancellationToken);
        await AnswerAsync(stream, cancellationToken);
    }

    /// <summary>Host side: reads the heartbeat byte and echoes it.</summary>
    /// <param name="stream">The accepted connection.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>A task that completes once the byte was echoed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The enclave sent another byte.</exception>
    /// <exception cref="EndOfStreamException">The enclave closed the connection without sending the byte.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask AnswerAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await ReceiveAsync(stream, "from the enclave", cancellationToken);
        await SendByteAsync(stream, cancellationToken);
    }

    /// <summary>Enclave side: connects to the host's heartbeat port, sends the byte and checks the echo, as AWS init does.</summary>
    /// <param name="transport">The transport.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>A task that completes once the echo arrived.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="transport"/> is <see langword="null"/>.</exception>
    /// <exception cref="VsockConnectException">The host does not listen.</exception>
    /// <exception cref="InvalidDataException">The host echoed another byte.</exception>
    /// <exception cref="EndOfStreamException">The host closed the connection without echoing.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask SendAsync(VsockTransport transport, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        await using var stream = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.HeartbeatPort), cancellationToken);
        await SendAsync(stream, cancellationToken);
    }

    /// <summary>Enclave side: sends the byte and checks the echo.</summary>
    /// <param name="stream">The connection to the host.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>A task that completes once the echo arrived.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The host echoed another byte.</exception>
    /// <exception cref="EndOfStreamException">The host closed the connection without echoing.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask SendAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await SendByteAsync(stream, cancellationToken);
        await ReceiveAsync(stream, "echoed by the host", cancellationToken);
    }

    private static async ValueTask SendByteAsync(Stream stream, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(new[] { Value }, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    private static async ValueTask ReceiveAsync(Stream stream, string from, CancellationToken cancellationToken)
    {
        var received = new byte[1];
        if (await stream.ReadAsync(received, cancellationToken) == 0)
        {
            throw new EndOfStreamException($"heartbeat: the stream ended before the byte {from}");
        }

        if (received[0] != Value)
        {
            throw new InvalidDataException($"heartbeat: byte 0x{received[0]:X2} at offset 0 {from}, expected 0x{Value:X2}");
        }
    }
}
