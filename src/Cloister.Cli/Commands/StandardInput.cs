using System.Security.Cryptography;

namespace Cloister.Cli.Commands;

/// <summary>Reads a command's input from stdin, never more than the command's limit.</summary>
internal static class StandardInput
{
    private const int FirstBufferLength = 64 * 1024;

    /// <summary>Reads stdin to its end.</summary>
    /// <param name="maxBytes">The most bytes the input may hold.</param>
    /// <param name="usage">How to give the command its input, for the error when stdin is a terminal.</param>
    /// <param name="cancellationToken">Stops the read.</param>
    /// <returns>The input, or <see langword="null"/> when it holds more than <paramref name="maxBytes"/> (of which at most one byte more was read).</returns>
    /// <exception cref="CommandFailedException">stdin is a terminal (exit 2): a command waiting there for input would look hung.</exception>
    public static async Task<byte[]?> ReadAsync(int maxBytes, string usage, CancellationToken cancellationToken)
    {
        if (!Console.IsInputRedirected)
        {
            throw CommandFailedException.Usage($"{usage}; stdin is a terminal");
        }

        var buffer = new byte[Math.Min(maxBytes + 1L, FirstBufferLength)];
        var length = 0;
        await using var stdin = Console.OpenStandardInput();
        while (true)
        {
            if (length == buffer.Length)
            {
                // Grown to one byte past the limit at most, which tells "too large" from "exactly full".
                var larger = new byte[Math.Min(buffer.Length * 2L, maxBytes + 1L)];
                buffer.CopyTo(larger, 0);
                CryptographicOperations.ZeroMemory(buffer);
                buffer = larger;
            }

            var read = await stdin.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (length > maxBytes)
            {
                CryptographicOperations.ZeroMemory(buffer);
                return null;
            }
        }

        if (length == buffer.Length)
        {
            return buffer;
        }

        // The input may be a secret: the copies this process made are wiped, not left to the garbage collector.
        var input = buffer[..length];
        CryptographicOperations.ZeroMemory(buffer);
        return input;
    }
}
