using System.Buffers;
using System.Globalization;
using System.Text;

namespace Cloister.Enclave.Egress;

/// <summary>The few responses the proxy makes itself; everything else is the origin's, relayed untouched.</summary>
internal static class ProxyResponse
{
    public static ReadOnlyMemory<byte> ConnectionEstablished { get; } = "HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray();

    /// <summary>Writes an error with a plain-text body that says why, and announces that the proxy closes the connection.</summary>
    public static async ValueTask WriteErrorAsync(Stream stream, int statusCode, string message, CancellationToken cancellationToken)
    {
        var body = message + "\n";
        var bodyLength = Encoding.UTF8.GetByteCount(body);
        var head = string.Create(
            CultureInfo.InvariantCulture,
            $"HTTP/1.1 {statusCode} {ReasonPhrase(statusCode)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {bodyLength}\r\nConnection: close\r\n\r\n");
        var buffer = ArrayPool<byte>.Shared.Rent(head.Length + bodyLength);
        try
        {
            var length = Encoding.ASCII.GetBytes(head, buffer);
            length += Encoding.UTF8.GetBytes(body, buffer.AsSpan(length));
            await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string ReasonPhrase(int statusCode) => statusCode switch
    {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "the proxy makes no such response"),
    };
}
