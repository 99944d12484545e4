using System.IO.Pipelines;
using Cloister.Runtime.Messages;

namespace Cloister.Enclave.Apps;

/// <summary>
/// Drains one of the app's output pipes: every byte is echoed to our own stdout or stderr (the enclave console) when an
/// echo stream is given, and framed into log records for the host. The pipe is drained to its end whatever happens to the host's log stream, so
/// a vanished host never blocks the app on a full pipe.
/// </summary>
internal static class AppOutput
{
    private const int ChunkSize = 16 * 1024;

    public static async Task PumpAsync(Stream appOutput, Stream? echo, LogWriter? log, LogSource source)
    {
        ArgumentNullException.ThrowIfNull(appOutput);
        var pipe = new Pipe();
        var forwarding = log is null ? CompleteAsync(pipe.Reader) : ForwardAsync(log, source, pipe.Reader);
        var toLog = log is not null;
        var buffer = new byte[ChunkSize];
        int read;
        while ((read = await appOutput.ReadAsync(buffer)) > 0)
        {
            var chunk = buffer.AsMemory(0, read);
            if (echo is not null && !await TryWriteAsync(echo, chunk))
            {
                // A console that refuses writes is given up on; the host still gets everything.
                echo = null;
            }

            if (toLog)
            {
                // The writer sees completion once the forwarding side gave up on a broken log stream.
                toLog = !(await pipe.Writer.WriteAsync(chunk)).IsCompleted;
            }
        }

        await pipe.Writer.CompleteAsync();
        await forwarding;
    }

    private static async Task ForwardAsync(LogWriter log, LogSource source, PipeReader reader)
    {
        try
        {
            await log.CopyLinesAsync(source, reader);
        }
        catch (IOException)
        {
            // The host's log stream broke; the console still gets everything.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static async Task CompleteAsync(PipeReader reader) => await reader.CompleteAsync();

    private static async Task<bool> TryWriteAsync(Stream echo, ReadOnlyMemory<byte> chunk)
    {
        try
        {
            await echo.WriteAsync(chunk);
            await echo.FlushAsync();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
