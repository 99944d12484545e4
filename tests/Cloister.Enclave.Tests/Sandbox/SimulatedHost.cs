using System.Collections.Concurrent;
using System.Threading.Channels;
using Cloister.Attestation.Simulation;
using Cloister.Build.Supervisor;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Nsm;
using Cloister.Runtime.Simulation;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>
/// Plays the host side of the simulation contract for one supervisor: a run directory whose <c>vsock/</c> holds the
/// status (7000) and log (7001) listeners as CID 3, a software NSM on <c>nsm.sock</c>, and the bind mounts and
/// environment that put both at the supervisor's fixed paths.
/// </summary>
internal sealed class SimulatedHost : IAsyncDisposable
{
    public const uint EnclaveCid = SimulatedEnclaveContract.FirstCid;

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly CancellationTokenSource _stop = new();
    private readonly VsockListener _statusListener;
    private readonly VsockListener _logListener;
    private readonly NsmSocketServer _nsmServer;
    private readonly SoftwareNsm _nsm;
    private readonly Task _nsmServing;
    private readonly Channel<StatusEvent> _statuses = Channel.CreateUnbounded<StatusEvent>();
    private readonly ConcurrentQueue<LogRecord> _logs = new();
    private readonly Task _statusReading;
    private readonly Task _logReading;

    private SimulatedHost(string runDirectory, VsockTransport transport, VsockListener statusListener, VsockListener logListener)
    {
        RunDirectory = runDirectory;
        Transport = transport;
        _statusListener = statusListener;
        _logListener = logListener;
        Root = SimulatedNitroRoot.Create();
        _nsm = new SoftwareNsm(Root);
        _nsmServer = new NsmSocketServer(System.IO.Path.Combine(runDirectory, "nsm.sock"), request => _nsm.ProcessRequest(request));
        _nsmServing = _nsmServer.RunAsync(_stop.Token);
        _statusReading = ReadStatusesAsync();
        _logReading = ReadLogsAsync();
    }

    public string RunDirectory { get; }

    /// <summary>The host's side of the simulated vsock (CID 3), for connecting to the enclave's ingress ports.</summary>
    public VsockTransport Transport { get; }

    public SimulatedNitroRoot Root { get; }

    public IReadOnlyCollection<LogRecord> Logs => _logs;

    /// <summary>The supervisor's environment: the bundle's <c>env</c> plus the simulated CID.</summary>
    public static IReadOnlyList<string> SupervisorEnvironment { get; } =
        [.. SupervisorBundle.Environment, $"{SimulatedEnclaveContract.CidVariable}={EnclaveCid}"];

    public static async Task<SimulatedHost> StartAsync()
    {
        var runDirectory = Directory.CreateTempSubdirectory("cloister-run-").FullName;
        Directory.CreateDirectory(VsockTransport.GetSimulatedSocketDirectory(runDirectory));
        var transport = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = runDirectory, LocalCid = VsockEndpoint.HostCid });
        var status = await transport.ListenAsync(VsockEndpoint.StatusPort);
        var logs = await transport.ListenAsync(VsockEndpoint.LogsPort);
        return new SimulatedHost(runDirectory, transport, status, logs);
    }

    /// <summary>Binds the vsock directory and the NSM socket where the supervisor expects them.</summary>
    public Rootfs Attach(Rootfs rootfs) =>
        rootfs.Bind(VsockTransport.GetSimulatedSocketDirectory(RunDirectory), VsockTransport.GetSimulatedSocketDirectory(SimulatedEnclaveContract.RunDirectory))
            .Bind(System.IO.Path.Combine(RunDirectory, "nsm.sock"), SimulatedEnclaveContract.NsmSocketPath);

    /// <summary>Every status event until the supervisor closes the stream.</summary>
    public async Task<IReadOnlyList<StatusEvent>> AllStatusesAsync()
    {
        await _statusReading.WaitAsync(s_timeout);
        return [.. _statuses.Reader.ReadAllAsync().ToBlockingEnumerable()];
    }

    /// <summary>Waits for the next status event.</summary>
    public async Task<StatusEvent> NextStatusAsync() => await _statuses.Reader.ReadAsync().AsTask().WaitAsync(s_timeout);

    /// <summary>Waits until a log record matches (the log stream is read in the background).</summary>
    public async Task<LogRecord> WaitForLogAsync(Func<LogRecord, bool> match)
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        while (true)
        {
            if (_logs.FirstOrDefault(match) is { } record)
            {
                return record;
            }

            if (_logReading.IsCompleted)
            {
                throw new InvalidOperationException($"the log stream ended without the expected record:\n{LogText()}");
            }

            await Task.Delay(20, timeout.Token);
        }
    }

    public async Task<IReadOnlyList<LogRecord>> AllLogsAsync()
    {
        await _logReading.WaitAsync(s_timeout);
        return [.. _logs];
    }

    public string LogText() => string.Join('\n', _logs.Select(record => $"{record.Source}: {record.Text}"));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _statusListener.DisposeAsync();
        await _logListener.DisposeAsync();
        await _nsmServer.DisposeAsync();
        await Task.WhenAny(_nsmServing, Task.Delay(s_timeout));
        _nsm.Dispose();
        Root.Dispose();
        _stop.Dispose();
        Directory.Delete(RunDirectory, recursive: true);
    }

    private async Task ReadStatusesAsync()
    {
        try
        {
            await using var stream = await _statusListener.AcceptAsync(_stop.Token);
            var reader = new StatusReader(stream);
            while (await reader.ReadAsync(_stop.Token) is { } statusEvent)
            {
                await _statuses.Writer.WriteAsync(statusEvent);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed before the supervisor connected.
        }
        finally
        {
            _statuses.Writer.Complete();
        }
    }

    private async Task ReadLogsAsync()
    {
        try
        {
            await using var stream = await _logListener.AcceptAsync(_stop.Token);
            var reader = new LogReader(stream);
            while (await reader.ReadAsync(_stop.Token) is { } record)
            {
                _logs.Enqueue(record);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed before the supervisor connected.
        }
    }
}
