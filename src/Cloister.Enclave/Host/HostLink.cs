using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Host;

/// <summary>
/// The supervisor's two connections to the host: the status stream (vsock 3:7000) and the log stream (3:7001). On Nitro
/// every supervisor line also goes to our stderr, the enclave console that debug mode shows; in the simulator the host
/// reads the console itself, so a mirrored line would reach the user twice. A host that goes away does not stop the
/// app: a line the log stream refuses goes to the console instead.
/// </summary>
internal sealed class HostLink : IAsyncDisposable
{
    private static readonly TimeSpan s_retryInterval = TimeSpan.FromMilliseconds(100);

    private readonly VsockStream _statusStream;
    private readonly VsockStream _logStream;
    private readonly StatusWriter _status;
    private readonly TextWriter _console;
    private int _statusBroken;

    private HostLink(VsockStream statusStream, VsockStream logStream, TextWriter console, bool mirrorToConsole)
    {
        _statusStream = statusStream;
        _logStream = logStream;
        _status = new StatusWriter(statusStream);
        Logs = new LogWriter(logStream);
        _console = console;
        MirrorsToConsole = mirrorToConsole;
    }

    /// <summary>The log stream, for the app's output.</summary>
    public LogWriter Logs { get; }

    /// <summary>Whether output sent to the host is also written to the enclave console (on Nitro, not in the simulator).</summary>
    public bool MirrorsToConsole { get; }

    /// <summary>Connects both streams, retrying for <paramref name="patience"/>: the host may still be starting its listeners.</summary>
    /// <exception cref="VsockConnectException">The host did not accept within <paramref name="patience"/>.</exception>
    public static async Task<HostLink> ConnectAsync(
        VsockTransport transport, TimeSpan patience, TextWriter console, bool mirrorToConsole, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        var deadline = DateTime.UtcNow + patience;
        var status = await ConnectWithRetryAsync(transport, VsockEndpoint.StatusPort, deadline, cancellationToken);
        try
        {
            var logs = await ConnectWithRetryAsync(transport, VsockEndpoint.LogsPort, deadline, cancellationToken);
            return new HostLink(status, logs, console, mirrorToConsole);
        }
        catch
        {
            await status.DisposeAsync();
            throw;
        }
    }

    public async Task ReportAsync(StatusEvent statusEvent, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _statusBroken) != 0)
        {
            return;
        }

        try
        {
            await _status.WriteAsync(statusEvent, cancellationToken);
        }
        catch (IOException ex)
        {
            Interlocked.Exchange(ref _statusBroken, 1);
            await _console.WriteLineAsync($"cloister-enclave: the host's status stream broke: {ex.Message}");
        }
    }

    /// <summary>A supervisor line: to the host's log stream as <c>supervisor</c>, and to the console when mirroring or when the stream refuses it.</summary>
    public async Task LogAsync(string text)
    {
        if (MirrorsToConsole)
        {
            await _console.WriteLineAsync($"cloister-enclave: {text}");
        }

        try
        {
            await Logs.WriteLineAsync(LogSource.Supervisor, text);
        }
        catch (IOException)
        {
            // The app's output pumps notice the broken stream themselves; this line must not be lost with it.
            if (!MirrorsToConsole)
            {
                await _console.WriteLineAsync($"cloister-enclave: {text}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Half-close first, so the host reads every line we wrote before it sees the end.
        CompleteWrites(_statusStream);
        CompleteWrites(_logStream);
        _status.Dispose();
        Logs.Dispose();
        await _statusStream.DisposeAsync();
        await _logStream.DisposeAsync();
    }

    private static void CompleteWrites(VsockStream stream)
    {
        try
        {
            stream.CompleteWrites();
        }
        catch (IOException)
        {
            // The host is gone already; there is nobody left to tell.
        }
    }

    private static async Task<VsockStream> ConnectWithRetryAsync(VsockTransport transport, uint port, DateTime deadline, CancellationToken cancellationToken)
    {
        var endpoint = new VsockEndpoint(VsockEndpoint.HostCid, port);
        while (true)
        {
            try
            {
                return await transport.ConnectAsync(endpoint, cancellationToken);
            }
            catch (VsockConnectException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(s_retryInterval, cancellationToken);
            }
        }
    }
}
