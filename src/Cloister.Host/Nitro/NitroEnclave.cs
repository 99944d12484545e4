using Cloister.Build.Eif;
using Cloister.Host.Supervision;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Nitro;

/// <summary>
/// An enclave on Nitro hardware, started with <c>nitro-cli run-enclave</c>, watched with <c>describe-enclaves</c> and
/// ended with <c>terminate-enclave</c>. Made by <see cref="NitroLauncher.Prepare(NitroOptions, NitroCli)"/>.
/// </summary>
/// <remarks>
/// <see cref="StopAsync"/> asks the supervisor inside over the vsock stop port, so the app gets its SIGTERM, and
/// terminates the enclave when the grace period runs out. nitro-cli reports no exit status; the app's comes from its
/// <c>exited</c> status line.
/// </remarks>
public sealed class NitroEnclave : HostedEnclave
{
    private readonly NitroOptions _options;
    private readonly NitroCli _nitroCli;
    private readonly TaskCompletionSource<EnclaveTermination> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _watching = new();
    private NitroEnclaveInfo? _info;
    private bool _forced;

    internal NitroEnclave(NitroOptions options, NitroCli nitroCli, VsockTransport hostTransport, EifMeasurements measurements, EnclaveLaunchSpec? launchSpec)
    {
        _options = options;
        _nitroCli = nitroCli;
        HostTransport = hostTransport;
        Measurements = measurements;
        LaunchSpec = launchSpec;
    }

    /// <inheritdoc/>
    public override string Kind => "nitro";

    /// <inheritdoc/>
    public override VsockTransport HostTransport { get; }

    /// <inheritdoc/>
    public override EifMeasurements Measurements { get; }

    /// <inheritdoc/>
    public override EnclaveLaunchSpec? LaunchSpec { get; }

    /// <inheritdoc/>
    public override uint Cid => Info.Cid;

    /// <inheritdoc/>
    public override Task<EnclaveTermination> Completion => _completion.Task;

    /// <summary>What nitro-cli reported when it started the enclave.</summary>
    /// <exception cref="InvalidOperationException">The enclave has not been started.</exception>
    public NitroEnclaveInfo Info => _info ?? throw new InvalidOperationException("the enclave has not been started");

    /// <inheritdoc/>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_info is not null)
        {
            throw new InvalidOperationException("the enclave was started before");
        }

        VsockListener? heartbeat = _options.AnswerHeartbeat ? await HostTransport.ListenAsync(VsockEndpoint.HeartbeatPort, cancellationToken) : null;
        try
        {
            var answered = heartbeat is null ? Task.CompletedTask : Heartbeat.AnswerAsync(heartbeat, cancellationToken).AsTask();
            try
            {
                var resources = LaunchSpec?.Manifest.Resources ?? new EnclaveResources();
                _info = await _nitroCli.RunEnclaveAsync(
                    _options.ImagePath, _options.Cpus ?? resources.Cpus, _options.MemoryMib ?? resources.MemoryMib, _options.Debug, _options.Cid, cancellationToken);
            }
            catch (Exception ex) when (ex is NitroCliException or IOException)
            {
                throw new EnclaveLaunchException(ex.Message, ex);
            }

            await answered;
        }
        finally
        {
            if (heartbeat is not null)
            {
                await heartbeat.DisposeAsync();
            }
        }

        _ = WatchAsync(_info.EnclaveId, _watching.Token);
    }

    /// <inheritdoc/>
    public override async Task<EnclaveTermination> StopAsync(TimeSpan gracePeriod)
    {
        var info = Info;
        if (gracePeriod > TimeSpan.Zero && !_completion.Task.IsCompleted && await TryRequestStopAsync())
        {
            await Task.WhenAny(_completion.Task, Task.Delay(gracePeriod));
        }

        if (!_completion.Task.IsCompleted)
        {
            _forced = true;
            await _nitroCli.TerminateEnclaveAsync(info.EnclaveId, CancellationToken.None);
            _completion.TrySetResult(new EnclaveTermination(null, Forced: true));
        }

        return await _completion.Task;
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (_info is not null && !_completion.Task.IsCompleted)
        {
            await StopAsync(TimeSpan.Zero);
        }

        await _watching.CancelAsync();
        _watching.Dispose();
    }

    private async Task WatchAsync(string enclaveId, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.PollInterval, cancellationToken);
                var enclaves = await _nitroCli.DescribeEnclavesAsync(cancellationToken);
                if (!enclaves.Any(e => e.EnclaveId == enclaveId && e.State is null or "RUNNING"))
                {
                    _completion.TrySetResult(new EnclaveTermination(null, _forced));
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or NitroCliException or IOException)
        {
            // Stopped, or nitro-cli no longer answers: the enclave is treated as gone.
            _completion.TrySetResult(new EnclaveTermination(null, _forced));
        }
    }
}
