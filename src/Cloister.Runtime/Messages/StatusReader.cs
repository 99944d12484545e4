using System.IO.Pipelines;
using System.Text.Json;

namespace Cloister.Runtime.Messages;

/// <summary>Reads the status stream (host side of vsock port 7000).</summary>
public sealed class StatusReader : LineMessageReader<StatusEvent>
{
    /// <summary>Creates a reader over a pipe.</summary>
    /// <param name="reader">The connection's reader; the reader does not complete it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    public StatusReader(PipeReader reader)
        : base(reader, StatusWriter.MaxLineLength, "status line", Parse)
    {
    }

    /// <summary>Creates a reader over a stream.</summary>
    /// <param name="stream">The connection; left open.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    public StatusReader(Stream stream)
        : base(stream, StatusWriter.MaxLineLength, "status line", Parse)
    {
    }

    /// <summary>Parses one status line (without its <c>'\n'</c>).</summary>
    /// <param name="line">The UTF-8 JSON.</param>
    /// <returns>The event.</returns>
    /// <exception cref="InvalidDataException">The line is not a valid status event.</exception>
    public static StatusEvent Parse(ReadOnlySpan<byte> line)
    {
        StatusEvent? statusEvent;
        try
        {
            statusEvent = JsonSerializer.Deserialize(line, StatusEventJsonContext.Default.StatusEvent);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"status line: {ex.Message}", ex);
        }
        catch (NotSupportedException ex)
        {
            // What System.Text.Json throws when the "event" discriminator is missing, unknown or not first.
            throw new InvalidDataException("status line: the first member must be \"event\", one of booting, provisioned, provisioning_refused, ready, exited, restarting, health", ex);
        }

        if (statusEvent is null)
        {
            throw new InvalidDataException("status line: null is not an event");
        }

        return Validate(statusEvent) is { } problem ? throw new InvalidDataException($"status line: {problem}") : statusEvent;
    }

    internal static string? Validate(StatusEvent statusEvent) => statusEvent switch
    {
        ProvisioningRefusedEvent { Reason.Length: 0 } => "\"provisioning_refused\" needs a \"reason\"",
        ExitedEvent exited => ValidateEnd("exited", exited.Code, exited.Signal),
        RestartingEvent { Restart: < 1 } restarting => $"\"restart\" {restarting.Restart} is not positive",
        RestartingEvent { DelayMs: < 0 } restarting => $"\"delay_ms\" {restarting.DelayMs} is negative",
        RestartingEvent restarting => ValidateEnd("restarting", restarting.Code, restarting.Signal),
        _ => null,
    };

    private static string? ValidateEnd(string name, int? code, int? signal) => (code, signal) switch
    {
        (null, null) => $"\"{name}\" needs a \"code\" or a \"signal\"",
        (not null, not null) => $"\"{name}\" has both \"code\" and \"signal\"; a process ends one way",
        (< 0 or > 255, _) => $"\"code\" {code} is outside 0–255",
        (_, < 1 or > 64) => $"\"signal\" {signal} is outside 1–64",
        _ => null,
    };
}
