using System.Buffers;
using System.Text.Json;

namespace Cloister.Runtime.Messages;

/// <summary>Writes the status stream (enclave side of vsock port 7000): one JSON object per line.</summary>
public sealed class StatusWriter : IDisposable
{
    /// <summary>The longest line either side accepts, <c>'\n'</c> excluded.</summary>
    public const int MaxLineLength = 16 * 1024;

    private readonly LineWriter _writer;

    /// <summary>Creates a writer.</summary>
    /// <param name="stream">The connection; the writer does not close it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    public StatusWriter(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _writer = new LineWriter(stream);
    }

    /// <summary>Sends one event; safe to call from several tasks at once.</summary>
    /// <param name="statusEvent">The event.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes once the line is written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="statusEvent"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The event is invalid (see <see cref="ExitedEvent"/>) or its line exceeds <see cref="MaxLineLength"/> bytes.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask WriteAsync(StatusEvent statusEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statusEvent);
        if (StatusReader.Validate(statusEvent) is { } problem)
        {
            throw new ArgumentException($"status event: {problem}", nameof(statusEvent));
        }

        return _writer.WriteAsync(statusEvent, Format, cancellationToken);
    }

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();

    private static void Format(StatusEvent statusEvent, IBufferWriter<byte> buffer)
    {
        using var json = new Utf8JsonWriter(buffer);
        JsonSerializer.Serialize(json, statusEvent, StatusEventJsonContext.Default.StatusEvent);
        json.Flush();
        if (json.BytesCommitted > MaxLineLength)
        {
            throw new ArgumentException($"status event: the line is {json.BytesCommitted} bytes, the limit is {MaxLineLength}", nameof(statusEvent));
        }

        buffer.Write("\n"u8);
    }
}
