using Cloister.Runtime.Messages;

namespace Cloister.Host.Supervision;

/// <summary>Follows the status stream (vsock 7000): reports each lifecycle step and remembers how the app exited.</summary>
internal sealed class EnclaveStatusTracker(TextWriter diagnostics, Action<StatusEvent>? statusChanged)
{
    private ExitedEvent? _exited;
    private string? _provisioningRefusal;

    /// <summary>The last <c>exited</c> event, if any arrived.</summary>
    public ExitedEvent? Exited => Volatile.Read(ref _exited);

    /// <summary>The reason of the <c>provisioning_refused</c> event, if one arrived.</summary>
    public string? ProvisioningRefusal => Volatile.Read(ref _provisioningRefusal);

    public async Task ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var reader = new StatusReader(stream);
        while (await reader.ReadAsync(cancellationToken) is { } statusEvent)
        {
            if (statusEvent is ExitedEvent exited)
            {
                Volatile.Write(ref _exited, exited);
            }
            else if (statusEvent is ProvisioningRefusedEvent refused)
            {
                Volatile.Write(ref _provisioningRefusal, refused.Reason);
            }

            diagnostics.WriteLine(HostSupervisor.NoticePrefix + Describe(statusEvent));
            statusChanged?.Invoke(statusEvent);
        }
    }

    private static string Describe(StatusEvent statusEvent) => statusEvent switch
    {
        BootingEvent => "enclave booting",
        ProvisionedEvent => "enclave provisioned",
        ProvisioningRefusedEvent refused => $"provisioning refused: {refused.Reason}; the app will not start",
        ReadyEvent => "enclave ready",
        ExitedEvent { Code: { } code } => $"app exited with code {code}",
        ExitedEvent exited => $"app killed by signal {exited.Signal}",
        RestartingEvent restarting => $"app {(restarting.Code is { } code ? $"exited with code {code}" : $"killed by signal {restarting.Signal}")}; restart {restarting.Restart} in {restarting.DelayMs} ms",
        HealthEvent health => $"health {(health.Ok ? "ok" : "FAILING")}{(health.Detail is { } detail ? ": " + detail : "")}",
        _ => statusEvent.GetType().Name,
    };
}
