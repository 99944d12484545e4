using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Kms;

/// <summary>
/// A byte stream to a TCP destination through the host's egress forwarder (vsock 3:7002), for the supervisor's own
/// connections (KMS): the <see cref="EgressRequest"/> line, the host's <see cref="EgressResponse"/>, then raw bytes.
/// The app's egress policy does not apply: the supervisor names its destination from the measured manifest.
/// </summary>
internal static class EgressTunnel
{
    /// <summary>Opens the tunnel.</summary>
    /// <param name="transport">The enclave's vsock transport.</param>
    /// <param name="host">The destination host name or address.</param>
    /// <param name="port">The destination port.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The connected stream, positioned at the destination's first byte; the caller disposes it.</returns>
    /// <exception cref="IOException">The host's forwarder is unreachable, refused the destination (the message has its reason), or answered badly.</exception>
    /// <exception cref="FormatException"><paramref name="host"/> is not a host name or an address.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="port"/> is outside 1–65535.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<Stream> OpenAsync(VsockTransport transport, string host, int port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var request = new EgressRequest(host, port);
        VsockStream stream;
        try
        {
            stream = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.EgressPort), cancellationToken);
        }
        catch (IOException ex)
        {
            throw new IOException($"the host's egress forwarder (vsock {VsockEndpoint.EgressPort}) is unreachable: {ex.Message}", ex);
        }

        try
        {
            await request.WriteAsync(stream, cancellationToken);
            var answer = EgressResponse.Parse(await ReadAnswerAsync(stream, cancellationToken));
            return answer.IsSuccess ? stream : throw new IOException($"the host refused egress to {request}: {answer.Reason}");
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            await stream.DisposeAsync();
            throw new IOException($"the host's egress forwarder answered badly: {ex.Message}", ex);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    // Byte by byte: the destination's bytes follow the line, and none may be read past it. "OK\n" is three reads.
    private static async Task<byte[]> ReadAnswerAsync(VsockStream stream, CancellationToken cancellationToken)
    {
        var line = new byte[EgressResponse.MaxLineLength + 1];
        for (var length = 0; length < line.Length; length++)
        {
            if (await stream.ReadAsync(line.AsMemory(length, 1), cancellationToken) == 0)
            {
                throw new EndOfStreamException("the host closed the connection without answering");
            }

            if (line[length] == (byte)'\n')
            {
                return line[..length];
            }
        }

        throw new InvalidDataException($"the answer line is longer than {EgressResponse.MaxLineLength} bytes");
    }
}
