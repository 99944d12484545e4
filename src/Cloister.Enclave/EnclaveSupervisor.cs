using System.Globalization;
using System.Runtime.InteropServices;
using Cloister.Enclave.Apps;
using Cloister.Enclave.Egress;
using Cloister.Enclave.Host;
using Cloister.Enclave.Ingress;
using Cloister.Enclave.Kms;
using Cloister.Enclave.LocalApi;
using Cloister.Enclave.Nitro;
using Cloister.Enclave.Provisioning;
using Cloister.Encryption.Keys;
using Cloister.Kms.Upstream;
using Cloister.Runtime.Egress;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Nsm;
using Cloister.Runtime.Simulation;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave;

/// <summary>
/// The supervisor's default mode: <c>/cloister/enclave.json</c> in, the app run to its end, its exit code out. The host
/// learns everything through the status and log streams; the console (our stdout/stderr) gets the same for
/// <c>nitro-cli console</c> and for the simulator's terminal.
/// </summary>
internal sealed class EnclaveSupervisor
{
    /// <summary>EX_CONFIG: the launch spec is missing, invalid, or asks for what this supervisor cannot do.</summary>
    public const int ConfigurationError = 78;

    /// <summary>EX_SOFTWARE: the supervisor itself failed (no host, no NSM).</summary>
    public const int InternalError = 70;

    /// <summary>EX_NOPERM: provisioning was refused (or failed for good); the app was never started.</summary>
    public const int ProvisioningRefused = 77;

    private static readonly TimeSpan s_hostPatience = TimeSpan.FromSeconds(10);

    // SIGTERM and SIGINT mean "stop"; the others are only passed on. SIGUSR1 and SIGUSR2 have no PosixSignal name.
    private static readonly PosixSignal[] s_stopSignals = [PosixSignal.SIGTERM, PosixSignal.SIGINT];
    private static readonly PosixSignal[] s_forwardedSignals = [PosixSignal.SIGHUP, PosixSignal.SIGQUIT, (PosixSignal)10, (PosixSignal)12];

    private readonly EnclaveLaunchSpec _spec;
    private readonly uint? _simulatedCid;

    private EnclaveSupervisor(EnclaveLaunchSpec spec, uint? simulatedCid)
    {
        _spec = spec;
        _simulatedCid = simulatedCid;
    }

    private bool Simulated => _simulatedCid is not null;

    public static async Task<int> RunAsync()
    {
        EnclaveLaunchSpec spec;
        uint? simulatedCid;
        try
        {
            spec = EnclaveLaunchSpecJson.Deserialize(await BoundedFile.ReadAllBytesAsync(EnclavePaths.LaunchSpec, FileSizeLimits.Json, "the launch spec"));
            simulatedCid = SimulatedCid(Environment.GetEnvironmentVariable(SimulatedEnclaveContract.CidVariable));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            await Console.Error.WriteLineAsync($"cloister-enclave: {ex.Message}");
            return ConfigurationError;
        }

        return await new EnclaveSupervisor(spec, simulatedCid).RunAsync(CancellationToken.None);
    }

    private static uint? SimulatedCid(string? variable) =>
        variable is null ? null
        : uint.TryParse(variable, NumberStyles.None, CultureInfo.InvariantCulture, out var cid) && cid >= SimulatedEnclaveContract.FirstCid ? cid
        : throw new FormatException($"{SimulatedEnclaveContract.CidVariable}={variable}: not a CID of at least {SimulatedEnclaveContract.FirstCid}");

    private async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var transport = VsockTransport.Create(Simulated
            ? new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = SimulatedEnclaveContract.RunDirectory, LocalCid = _simulatedCid }
            : new VsockTransportOptions { Kind = VsockTransportKind.Native });
        HostLink host;
        try
        {
            host = await HostLink.ConnectAsync(transport, s_hostPatience, Console.Error, mirrorToConsole: !Simulated, cancellationToken);
        }
        catch (VsockConnectException ex)
        {
            await Console.Error.WriteLineAsync($"cloister-enclave: no host to report to: {ex.Message}");
            return InternalError;
        }

        await using (host)
        {
            await host.ReportAsync(new BootingEvent(), cancellationToken);
            var exit = await SuperviseAsync(transport, host, cancellationToken);
            await host.ReportAsync(new ExitedEvent(exit.Code, exit.Signal), cancellationToken);
            await host.LogAsync($"the app ended with {exit}; exiting with {exit.ExitCode}");
            return exit.ExitCode;
        }
    }

    private async Task<AppExit> SuperviseAsync(VsockTransport transport, HostLink host, CancellationToken cancellationToken)
    {
        AppLaunch launch;
        EgressPolicy egressPolicy;
        try
        {
            egressPolicy = EgressPolicy.Parse(_spec.Manifest.Egress.Allow, _spec.Manifest.Egress.Deny);
            launch = AppLaunch.Resolve(_spec, "/");
        }
        catch (FormatException ex)
        {
            await host.LogAsync($"egress: {ex.Message}");
            return new AppExit(ConfigurationError, null);
        }
        catch (AppLaunchException ex)
        {
            await host.LogAsync(ex.Message);
            return new AppExit(ex.ExitCode, null);
        }

        NsmDevice? nsm = null;
        DeploymentCertificateIssuer? deploymentCa = null;
        DeploymentKeyRing? keys = null;
        try
        {
            nsm = await PrepareEnclaveAsync(host, cancellationToken);
            if (_spec.Manifest.Provisioning is { } provisioning)
            {
                // Before anything listens or the app exists: an unprovisioned enclave serves nothing.
                if (await ProvisionAsync(provisioning, _spec.Manifest.Api.Crypto, transport, nsm!, launch, host, cancellationToken) is not { } provisioned)
                {
                    return new AppExit(ProvisioningRefused, null);
                }

                (launch, deploymentCa, keys) = provisioned;
            }

            ProcessInterop.CatchIgnoredSignals();
            if (Environment.ProcessId != 1)
            {
                // PID 1 gets orphans anyway; otherwise this makes the app's orphans ours to reap rather than init's.
                ProcessInterop.BecomeSubreaper();
            }

            // Every egress event but a normal close is worth a line: what the app reached, and what it was refused.
            var egressOptions = new EgressProxyOptions { Log = egressEvent => _ = egressEvent.Outcome == EgressProxyOutcome.Closed ? Task.CompletedTask : host.LogAsync(egressEvent.ToString()) };
            await using var egress = await EgressProxy.StartAsync(egressPolicy, transport, egressOptions, cancellationToken);
            await using var ingress = await PassthroughIngress.StartAsync(transport, _spec.Manifest.Ingress.Where(port => port.Tls == IngressTls.Passthrough), host.LogAsync);
            await using var attested = await StartAttestedIngressAsync(transport, nsm, deploymentCa, host, cancellationToken);
            var api = _spec.Manifest.Api;
            await using var localApi = nsm is null || !(api.Attestation || keys is not null)
                ? null
                : await LocalApiServer.StartAsync(api.Port, nsm, new LocalApiOptions { Attestation = api.Attestation, Keys = keys }, cancellationToken);
            using var kmsUpstream = _spec.Manifest.KmsProxy is { } kmsSettings ? KmsUpstreamFactory.Create(kmsSettings, transport) : null;
            await using var kmsProxy = kmsUpstream is null ? null : await StartKmsProxyAsync(_spec.Manifest.KmsProxy!, nsm!, kmsUpstream, host, cancellationToken);
            var appPorts = _spec.Manifest.Ingress.Select(port => port.AppPort).ToList();
            using var supervisor = new AppSupervisor(launch, _spec.Manifest.Restart, host, (exited, token) => WaitReadyAsync(appPorts, exited, host, token), AppSupervisor.DefaultGracePeriod);
            // On Nitro the host has no other way to give the app its SIGTERM; the simulator takes the same path.
            await using var stopPort = await StopRequest.ServeAsync(transport, () => supervisor.Stop(ProcessInterop.SigTerm), cancellationToken);
            var registrations = s_stopSignals.Select(signal => PosixSignalRegistration.Create(signal, context => Handle(context, supervisor.Stop)))
                .Concat(s_forwardedSignals.Select(signal => PosixSignalRegistration.Create(signal, context => Handle(context, supervisor.Forward))))
                .ToList();
            try
            {
                return await supervisor.RunAsync();
            }
            finally
            {
                registrations.ForEach(registration => registration.Dispose());
            }
        }
        catch (AppLaunchException ex)
        {
            await host.LogAsync(ex.Message);
            return new AppExit(ex.ExitCode, null);
        }
        catch (SupervisorStartupException ex)
        {
            await host.LogAsync(ex.Message);
            return new AppExit(ex.Reason == StartupFailure.Configuration ? ConfigurationError : InternalError, null);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            await host.LogAsync(ex.Message);
            return new AppExit(InternalError, null);
        }
        finally
        {
            keys?.Dispose();
            deploymentCa?.Dispose();
            nsm?.Dispose();
        }
    }

    // The app's secrets, the deployment's CA and (with api.crypto) its key ring, or null when provisioning was refused
    // (reported on the status stream).
    private static async Task<(AppLaunch Launch, DeploymentCertificateIssuer Issuer, DeploymentKeyRing? Keys)?> ProvisionAsync(
        ProvisioningSettings settings, bool crypto, VsockTransport transport, NsmDevice nsm, AppLaunch launch, HostLink host, CancellationToken cancellationToken)
    {
        var client = new ProvisioningClient(
            settings,
            nsm,
            token => HostTokenSource.GetAsync(transport, token),
            async token => await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.ProvisionerPort), token),
            new ProvisioningClientOptions());
        await host.LogAsync($"provisioning: asking {settings.Url} for deployment '{settings.TokenAudience}' through the host");
        try
        {
            var answer = await client.ProvisionAsync(host.LogAsync, cancellationToken);
            var keys = ProvisionedKeys.Import(answer, crypto);
            AppLaunch provisionedLaunch;
            DeploymentCertificateIssuer issuer;
            try
            {
                provisionedLaunch = launch.WithSecrets(answer.Secrets);
                issuer = DeploymentCertificateIssuer.From(answer.CertificateAuthority);
            }
            catch (Exception ex)
            {
                keys?.Dispose();
                if (ex is FormatException)
                {
                    throw new ProvisioningRefusedException(ex.Message);
                }

                throw;
            }

            await host.ReportAsync(new ProvisionedEvent(), cancellationToken);
            // Names and versions only: a value never leaves the supervisor except into the app's environment.
            var secrets = answer.Secrets.Count == 0 ? "no secrets" : string.Join(", ", answer.Secrets.Select(secret => $"{secret.Name} (v{secret.Version})"));
            var keyLine = keys is null ? "" : $"; encryption key {keys.KeyId} versions {string.Join(", ", keys.Versions.Order())} (current {keys.CurrentVersion})";
            await host.LogAsync($"provisioning: provisioned for deployment '{answer.Deployment}': attested leaves issued by {issuer.Subject}; {secrets}{keyLine}");
            return (provisionedLaunch, issuer, keys);
        }
        catch (Exception ex) when (ex is ProvisioningRefusedException or AppLaunchException)
        {
            await host.LogAsync($"provisioning refused: {ex.Message}; the app will not start");
            await host.ReportAsync(new ProvisioningRefusedEvent(ex.Message), cancellationToken);
            return null;
        }
    }

    // Started before the app, so its first call finds the proxy listening; one line says what the manifest lets through.
    private static async Task<KmsProxyServer> StartKmsProxyAsync(
        KmsProxySettings settings, NsmDevice nsm, KmsUpstream upstream, HostLink host, CancellationToken cancellationToken)
    {
        var server = await KmsProxyServer.StartAsync(settings, KmsProxyServer.Attester(nsm), upstream, cancellationToken);
        await host.LogAsync($"kms_proxy: serving 127.0.0.1:{server.Port} for {settings.Region}: actions {string.Join(", ", settings.Allow)}; keys {string.Join(", ", settings.Keys)}; to {settings.Endpoint ?? KmsUpstreamOptions.DefaultEndpoint(settings.Region).ToString()}");
        return server;
    }

    // Every port's base certificate is made before the first connection is accepted; each gets one line in the log.
    private async Task<AttestedIngress?> StartAttestedIngressAsync(
        VsockTransport transport, NsmDevice? nsm, ICertificateIssuer? issuer, HostLink host, CancellationToken cancellationToken)
    {
        var ports = _spec.Manifest.Ingress.Where(port => port.Tls == IngressTls.Attested).ToList();
        if (ports.Count == 0)
        {
            return null;
        }

        var ingress = await AttestedIngress.StartAsync(
            transport,
            ports,
            new AttestedIngressOptions
            {
                Nsm = nsm ?? throw new InvalidOperationException("attested ingress started without an NSM"),
                Issuer = issuer ?? SelfSignedCertificateIssuer.Instance,
            },
            host.LogAsync,
            cancellationToken);
        foreach (var port in ingress.Ports)
        {
            await host.LogAsync(BaseCertificateRotation.Describe(port.Name, "serving", port.Base.Current));
        }

        return ingress;
    }

    // Nitro only: bring up lo and feed the entropy pool. In the simulator the NSM is opened when the local API or attested ingress needs it.
    private async Task<NsmDevice?> PrepareEnclaveAsync(HostLink host, CancellationToken cancellationToken)
    {
        if (Simulated)
        {
            // bubblewrap's new network namespace has lo up already, and the host's kernel has entropy.
            var needsNsm = _spec.Manifest.Api.Attestation || _spec.Manifest.Provisioning is not null || _spec.Manifest.KmsProxy is not null
                || _spec.Manifest.Ingress.Any(port => port.Tls == IngressTls.Attested);
            return needsNsm ? await NsmSocketDevice.ConnectAsync(SimulatedEnclaveContract.NsmSocketPath, cancellationToken) : null;
        }

        LoopbackInterface.BringUp();
        var nsm = NsmKernelDevice.Open();
        var seeded = await EntropySeeder.SeedAsync(nsm, cancellationToken);
        await host.LogAsync($"lo is up; {seeded} bytes of NSM randomness added to the entropy pool");
        return nsm;
    }

    private static async Task<bool> WaitReadyAsync(IReadOnlyList<int> appPorts, Task exited, HostLink host, CancellationToken cancellationToken)
    {
        var ready = await AppReadiness.WaitAsync(appPorts, exited, AppReadiness.DefaultBound, cancellationToken);
        if (!ready && !exited.IsCompleted)
        {
            await host.LogAsync($"the app did not accept connections on 127.0.0.1:{string.Join(", ", appPorts)} within {AppReadiness.DefaultBound.TotalSeconds} s; not reporting ready");
        }

        return ready;
    }

    private static void Handle(PosixSignalContext context, Action<int> action)
    {
        context.Cancel = true;
        action(RawSignalNumber(context.Signal));
    }

    // PosixSignal's named members are negative stand-ins; raw numbers pass through as themselves.
    private static int RawSignalNumber(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => ProcessInterop.SigTerm,
        _ => (int)signal,
    };
}
