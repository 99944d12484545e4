using Cloister.Runtime.Messages;

namespace Cloister.Host.Supervision;

/// <summary>Follows the status stream (vsock 7000): reports each lifecycle step and remembers how the app exited.</summary>
internal sealed class EnclaveStatusTracker(TextWriter diagnostics, Action<StatusEvent>? statusChanged)
{
    private ExitedEvent? _exited;

    /// <summary>The last <c>exited</c> event, if any arrived.</summary>
    public ExitedEvent? Exited => Volatile.Read(ref _exited);

    public async Task ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var reader = new StatusReader(stream);
        while (await reader.ReadAsync(cancellationToken) is { } statusEvent)
        {
            if (statusEvent is ExitedEvent exited)
            {
                Volatile.Write(ref _exited, exited);
            }

            diagnostics.WriteLine(HostSupervisor.NoticePrefix + Describe(statusEvent));
            statusChanged?.Invoke(statusEvent);
        }
    }

    private static string Describe(StatusEvent statusEvent) => statusEvent switch
    {
        BootingEvent => "enclave booting",
        ProvisionedEvent => "enclave provisioned",
        ReadyEvent => "enclave ready",
        ExitedEvent { Code: { } code } => $"app exited with code {code}",
        ExitedEvent exited => $"app killed by signal {exited.Signal}",
        RestartingEvent restarting => $"app {(restarting.Code is { } code ? $"exited with code {code}" : $"killed by signal {restarting.Signal}")}; restart {restarting.Restart} in {restarting.DelayMs} ms",
        HealthEvent health => $"health {(health.Ok ? "ok" : "FAILING")}{(health.Detail is { } detail ? ": " + detail : "")}",
        _ => statusEvent.GetType().Name,
    };
}
