using System.Buffers;
using System.Text;

namespace Cloister.Runtime.Messages;

/// <summary>One-off lines that open a connection, where a shared <see cref="LineWriter"/> would be overkill.</summary>
internal static class LineIO
{
    public static async ValueTask WriteAsciiLineAsync(Stream stream, string line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = ArrayPool<byte>.Shared.Rent(line.Length + 1);
        try
        {
            var length = Encoding.ASCII.GetBytes(line, buffer);
            buffer[length] = (byte)'\n';
            await stream.WriteAsync(buffer.AsMemory(0, length + 1), cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
