using System.Net;
using Cloister.Host.Ingress;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Supervision;

/// <summary>
/// The host side of a run, the same on Nitro and in the simulator: serves the host's vsock services (status, logs and
/// the configured ones: egress, provisioning), starts the enclave, opens an ingress listener per manifest port, and on a
/// stop request stops the enclave gracefully. The app's exit code becomes the run's.
/// </summary>
public static class HostSupervisor
{
    /// <summary>What the host's own lines start with.</summary>
    public const string NoticePrefix = "cloister: ";

    private static readonly TimeSpan s_drainLimit = TimeSpan.FromSeconds(2);

    /// <summary>Runs a prepared enclave until it ends, or until <paramref name="stopRequested"/> fires and it has been stopped.</summary>
    /// <param name="enclave">The prepared, not yet started enclave; the caller disposes it.</param>
    /// <param name="options">Where output goes, ingress, and the vsock services besides status and logs.</param>
    /// <param name="stopRequested">Fires on SIGTERM/SIGINT: the enclave is stopped with the grace period.</param>
    /// <returns>How the run ended.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">Two services share a vsock port.</exception>
    /// <exception cref="IOException">A host port cannot be listened on (vsock or ingress).</exception>
    /// <exception cref="EnclaveLaunchException">The enclave could not be started.</exception>
    public static async Task<EnclaveRunResult> RunAsync(HostedEnclave enclave, HostSupervisorOptions options, CancellationToken stopRequested)
    {
        ArgumentNullException.ThrowIfNull(enclave);
        ArgumentNullException.ThrowIfNull(options);
        var output = TextWriter.Synchronized(options.Output);
        var diagnostics = TextWriter.Synchronized(options.Diagnostics);
        void Notice(string message) => diagnostics.WriteLine(NoticePrefix + message);

        using var services = new CancellationTokenSource();
        var transport = enclave.HostTransport;
        var status = new EnclaveStatusTracker(diagnostics, options.StatusChanged);
        var logs = new EnclaveLogPrinter(output, diagnostics);
        var listeners = new List<VsockListener>();
        var ingress = new List<IngressForwarder>();
        var running = new List<Task>();
        var served = new List<RunningHostService>();
        try
        {
            foreach (var service in AllServices(options, status, logs))
            {
                var listener = await transport.ListenAsync(service.Port, stopRequested);
                listeners.Add(listener);
                var started = service.Start(listener, Notice, services.Token);
                served.Add(started);
                running.Add(started.Serving);
            }

            ingress.AddRange(ListenForIngress(enclave, options, transport, Notice));
            await enclave.StartAsync(stopRequested);
            Notice($"enclave started in the {enclave.Kind} with CID {enclave.Cid}");
            running.AddRange(ingress.Select(forwarder => forwarder.RunAsync(enclave.Cid, services.Token)));

            var stop = Task.Delay(Timeout.Infinite, stopRequested);
            var stopped = await Task.WhenAny(enclave.Completion, stop) == stop;
            if (stopped)
            {
                Notice($"stopping: the app gets SIGTERM and {options.GracePeriod.TotalSeconds:0.#} s to exit");
            }

            var termination = stopped ? await enclave.StopAsync(options.GracePeriod) : await enclave.Completion;
            if (termination.Forced)
            {
                Notice("the enclave did not exit within the grace period and was ended by force");
            }

            // The enclave is gone, so its connections end; let the last status and log lines arrive.
            await Task.WhenAll(served.Select(service => service.DrainAsync(s_drainLimit)));
            var exited = status.Exited;
            var exitCode = exited?.Code ?? (exited?.Signal is { } signal ? 128 + signal : termination.ExitCode ?? 1);
            return new EnclaveRunResult(exitCode, exited, termination, stopped) { ProvisioningRefusal = status.ProvisioningRefusal };
        }
        finally
        {
            await services.CancelAsync();
            foreach (var forwarder in ingress)
            {
                await forwarder.DisposeAsync();
            }

            foreach (var listener in listeners)
            {
                await listener.DisposeAsync();
            }

            await Task.WhenAll(running);
        }
    }

    // The status and log streams are the supervisor's own; every other service comes from the options, one per port.
    private static List<HostService> AllServices(HostSupervisorOptions options, EnclaveStatusTracker status, EnclaveLogPrinter logs)
    {
        List<HostService> all =
        [
            HostService.PerConnection(VsockEndpoint.StatusPort, "status", status.ReadAsync),
            HostService.PerConnection(VsockEndpoint.LogsPort, "logs", logs.ReadAsync),
            .. options.Services,
        ];
        if (all.GroupBy(service => service.Port).FirstOrDefault(port => port.Count() > 1) is { } clash)
        {
            throw new ArgumentException($"vsock port {clash.Key} has more than one service: {string.Join(", ", clash.Select(service => service.Name))}", nameof(options));
        }

        return all;
    }

    private static List<IngressForwarder> ListenForIngress(HostedEnclave enclave, HostSupervisorOptions options, VsockTransport transport, Action<string> notice)
    {
        var forwarders = new List<IngressForwarder>();
        if (enclave.LaunchSpec is not { } spec)
        {
            notice($"the image carries no {EnclavePaths.LaunchSpec} (built with --runtime none, or by nitro-cli): no ingress ports to open");
            return forwarders;
        }

        try
        {
            foreach (var port in spec.Manifest.Ingress)
            {
                var hostPort = options.PublishedPorts.LastOrDefault(p => p.EnclavePort == port.Port)?.HostPort ?? port.Port;
                var forwarder = IngressForwarder.Listen(
                    new IPEndPoint(options.IngressAddress, hostPort), transport, (uint)port.Port, options.RelayIngress, notice);
                forwarders.Add(forwarder);
                notice($"ingress {forwarder.LocalEndpoint} → enclave port {port.Port} ({(port.Tls == IngressTls.Attested ? "attested TLS" : "passthrough")}, {(forwarder.HandsOver ? "handed over" : "relayed")})");
                options.IngressListening?.Invoke(forwarder);
            }
        }
        catch
        {
            foreach (var forwarder in forwarders)
            {
                forwarder.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            throw;
        }

        return forwarders;
    }
}
