namespace Cloister.Enclave.Host;

/// <summary>
/// Reads the one line a host service answers per connection (the token service on 7005, the credentials service on
/// 7004) and then closes: bounded, so a host that never sends <c>'\n'</c> cannot fill the enclave's memory.
/// </summary>
internal static class HostLine
{
    /// <summary>Reads up to the first <c>'\n'</c> (which is not returned).</summary>
    /// <exception cref="EndOfStreamException">The host closed the connection before a whole line.</exception>
    /// <exception cref="InvalidDataException">The line is longer than <paramref name="maxLength"/> bytes.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<byte[]> ReadAsync(Stream stream, int maxLength, CancellationToken cancellationToken)
    {
        var buffer = new byte[maxLength + 1];
        var filled = 0;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("the host closed the connection before a whole line");
            }

            var newline = Array.IndexOf(buffer, (byte)'\n', filled, read);
            filled += read;
            if (newline >= 0)
            {
                return buffer[..newline];
            }

            if (filled > maxLength)
            {
                throw new InvalidDataException($"the host's line is longer than {maxLength} bytes");
            }
        }
    }
}
