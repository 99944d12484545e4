using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Cloister.Host.Egress;
using Cloister.Host.Ingress;
using Cloister.Host.Kms;
using Cloister.Host.Nitro;
using Cloister.Host.Processes;
using Cloister.Host.Provisioning;
using Cloister.Host.Simulation;
using Cloister.Host.Supervision;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Provisioning;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister run DIR|F.eif</c>: runs an enclave image in the foreground, on Nitro when <c>/dev/nitro_enclaves</c>
/// exists, else in the simulator, and says which. SIGTERM or SIGINT stops it gracefully; the app's exit code is ours.
/// </summary>
internal static class RunCommand
{
    private const string NitroDevice = "/dev/nitro_enclaves";
    private const int MaxEgressIdleSeconds = 86_400;
    private const int MaxEgressTunnels = 65_536;

    public static Command Create()
    {
        var parameters = new Parameters();
        var command = new Command("run", "Run an enclave image in the foreground: on Nitro hardware, or in the local simulator.");
        parameters.AddTo(command);
        command.SetAction(parseResult => OperatingSystem.IsLinux()
            ? RunAsync(parameters, parseResult).GetAwaiter().GetResult()
            : throw new CommandFailedException("cloister run needs Linux: Nitro parent instances and the simulator's sandbox are Linux only"));
        return command;
    }

    [SupportedOSPlatform("linux")]
    private static async Task<int> RunAsync(Parameters parameters, ParseResult parseResult)
    {
        // This process relays every ingress and egress byte. The socket engine reads the variable when a socket first
        // waits, which is after this line (nothing before it uses a socket); set here rather than in a launcher script so
        // that every way of starting the CLI gets it. The enclave does not inherit it: the sandbox clears its environment,
        // and the supervisor's own comes from the image.
        Environment.SetEnvironmentVariable(DuplexRelay.InlineCompletionsVariable, "1");
        var egressDefaults = new EgressForwarderOptions();
        var provisioning = ProvisioningArguments.From(parseResult.GetValue(parameters.ProvisionerCredentials), parseResult.GetValue(parameters.Provisioner));
        var supervisorOptions = new HostSupervisorOptions
        {
            Output = Console.Out,
            Diagnostics = Console.Error,
            IngressAddress = IPAddress.TryParse(parseResult.GetRequiredValue(parameters.IngressAddress), out var address)
                ? address
                : throw CommandFailedException.Usage($"--ingress-address '{parseResult.GetValue(parameters.IngressAddress)}' is not an IP address"),
            PublishedPorts = [.. (parseResult.GetValue(parameters.Publish) ?? []).Select(ParsePublished)],
            RelayIngress = parseResult.GetValue(parameters.RelayIngress),
            GracePeriod = parseResult.GetValue(parameters.GracePeriod) is var seconds and >= 0 and <= 3600
                ? TimeSpan.FromSeconds(seconds)
                : throw CommandFailedException.Usage("--grace-period must be 0–3600 seconds"),
        };
        // The host side of egress (vsock 7002): resolves and connects what the enclave's policy allowed, never to
        // loopback, private or link-local addresses unless a test or demo asks for them.
        var egress = HostService.OnListener(VsockEndpoint.EgressPort, "egress", new EgressForwarder(new EgressForwarderOptions
        {
            AllowPrivateDestinations = parseResult.GetValue(parameters.AllowPrivateEgress),
            IdleTimeout = parseResult.GetValue(parameters.EgressIdleTimeout) switch
            {
                null => egressDefaults.IdleTimeout,
                0 => Timeout.InfiniteTimeSpan,
                >= 1 and <= MaxEgressIdleSeconds and var idle => TimeSpan.FromSeconds(idle),
                _ => throw CommandFailedException.Usage($"--egress-idle-timeout must be 1–{MaxEgressIdleSeconds} seconds, or 0 for none"),
            },
            MaxTunnels = parseResult.GetValue(parameters.EgressMaxTunnels) switch
            {
                null => egressDefaults.MaxTunnels,
                >= 1 and <= MaxEgressTunnels and var tunnels => tunnels,
                _ => throw CommandFailedException.Usage($"--egress-max-tunnels must be 1–{MaxEgressTunnels}"),
            },
            Log = egressEvent => Notice(egressEvent.ToString()),
        }).RunAsync);
        var imagePath = ResolveImage(parseResult.GetRequiredValue(parameters.Image));
        var simulate = parseResult.GetValue(parameters.Simulate);
        var onNitro = !simulate && File.Exists(NitroDevice);
        Notice(onNitro
            ? $"running on Nitro ({NitroDevice} exists; --simulate runs in the simulator instead)"
            : simulate ? "running in the simulator (--simulate)" : $"running in the simulator (no {NitroDevice} on this machine)");

        using var stop = new CancellationTokenSource();
        void RequestStop(PosixSignalContext context)
        {
            // Handled here: the enclave is stopped gracefully and the run ends with the app's exit code.
            context.Cancel = true;
            stop.Cancel();
        }

        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
        string? runDirectory = null;
        HostedEnclave enclave;
        try
        {
            if (onNitro)
            {
                enclave = NitroLauncher.Prepare(
                    new NitroOptions
                    {
                        ImagePath = imagePath,
                        Cpus = parseResult.GetValue(parameters.Cpus),
                        MemoryMib = parseResult.GetValue(parameters.Memory),
                        Debug = parseResult.GetValue(parameters.Debug),
                    },
                    new NitroCli(new SystemProcessRunner()));
            }
            else
            {
                runDirectory = Directory.CreateTempSubdirectory("cloister-run-").FullName;
                enclave = PrepareSimulator(parameters, parseResult, imagePath, runDirectory);
            }
        }
        catch (Exception ex) when (ex is EnclaveLaunchException or InvalidDataException or NitroCliException)
        {
            throw new CommandFailedException(ex.Message, ExitCodes.Invalid, ex);
        }

        await using (enclave)
        {
            Notice($"PCR0 {Convert.ToHexStringLower(enclave.Measurements.Pcr0)}");
            using var hostProvisioning = await provisioning.StartAsync(enclave.LaunchSpec?.Manifest.Provisioning, Notice, stop.Token);
            var kmsCredentials = KmsCredentials(enclave.LaunchSpec?.Manifest.KmsProxy);
            EnclaveRunResult result;
            try
            {
                result = await HostSupervisor.RunAsync(
                    enclave,
                    supervisorOptions with { Services = [egress, .. hostProvisioning?.Services ?? [], .. kmsCredentials] },
                    stop.Token);
            }
            catch (EnclaveLaunchException ex)
            {
                throw new CommandFailedException(ex.Message, ExitCodes.Invalid, ex);
            }

            Notice($"the enclave ended; exit code {result.ExitCode}");
            if (runDirectory is not null && parseResult.GetValue(parameters.KeepRunDirectory))
            {
                Notice($"run directory kept: {runDirectory}");
            }

            return result.ProvisioningRefusal is { } refusal
                ? throw new CommandFailedException($"provisioning refused: {refusal}", ExitCodes.Invalid)
                : result.ExitCode;
        }
    }

    // The supervisor's KMS proxy signs with the host's credentials (docs/kms.md, "Credentials"); an image without
    // kms_proxy never asks, so the host does not offer them.
    [SupportedOSPlatform("linux")]
    private static HostService[] KmsCredentials(KmsProxySettings? manifest)
    {
        if (manifest is null)
        {
            return [];
        }

        Notice($"kms: the image's kms_proxy ({manifest.Region}) signs with this host's AWS credentials (the SDK's default chain), served on vsock {VsockEndpoint.KmsCredentialsPort}");
        return [new KmsCredentialsService(cancellationToken => KmsCredentialsService.ResolveDefaultChainAsync(TimeProvider.System, cancellationToken), Notice).Service];
    }

    [SupportedOSPlatform("linux")]
    private static SimulatedEnclave PrepareSimulator(Parameters parameters, ParseResult parseResult, string imagePath, string runDirectory)
    {
        var simRoot = parseResult.GetValue(parameters.SimRoot)
            ?? UserDirectories.SimulatedRoot;
        var simulated = SimulatorLauncher.Prepare(new SimulatorOptions
        {
            ImagePath = imagePath,
            RunDirectory = runDirectory,
            KeepRunDirectory = parseResult.GetValue(parameters.KeepRunDirectory),
            SimulatedRootDirectory = simRoot,
            Tools = SandboxTools.Find(Environment.GetEnvironmentVariable("PATH")),
            ParentRoleArn = parseResult.GetValue(parameters.ParentRole),
            ParentInstanceId = parseResult.GetValue(parameters.ParentId),
            Cpus = parseResult.GetValue(parameters.Cpus),
            MemoryMib = parseResult.GetValue(parameters.Memory),
            Debug = parseResult.GetValue(parameters.Debug),
            ConsoleLine = line => Console.Error.WriteLine("console: " + line),
            Notice = Notice,
        });
        foreach (var warning in simulated.Warnings)
        {
            Notice("WARNING: " + warning);
        }

        Notice(simulated.RootCreated
            ? $"created the simulated root in {simRoot}; attestation documents verify only under it"
            : $"attestation documents are signed under the simulated root in {simRoot}, which nothing trusts unless named");
        return simulated;
    }

    private static string ResolveImage(string path)
    {
        if (File.Exists(path))
        {
            return Path.GetFullPath(path);
        }

        if (!Directory.Exists(path))
        {
            throw new FileNotFoundException($"no such file or directory: {path}", path);
        }

        var images = Directory.GetFiles(path, "*.eif");
        return images.Length == 1
            ? Path.GetFullPath(images[0])
            : throw CommandFailedException.Usage(images.Length == 0 ? $"{path} holds no .eif file" : $"{path} holds {images.Length} .eif files; name one");
    }

    [SupportedOSPlatform("linux")]
    private static PublishedPort ParsePublished(string text)
    {
        try
        {
            return PublishedPort.Parse(text);
        }
        catch (FormatException ex)
        {
            throw CommandFailedException.Usage("--" + ex.Message);
        }
    }

    [SupportedOSPlatform("linux")]
    private static void Notice(string message) => Console.Error.WriteLine(HostSupervisor.NoticePrefix + message);

    private sealed class Parameters
    {
        public Argument<string> Image { get; } = new("image") { Description = "An enclave image file, or a build output directory holding exactly one .eif." };

        public Option<bool> Simulate { get; } = new("--simulate") { Description = "Run in the simulator even on Nitro hardware." };

        public Option<int?> Cpus { get; } = new("--cpus") { Description = "vCPUs for the enclave (Nitro default: the manifest's resources.cpus; simulator: all)." };

        public Option<int?> Memory { get; } = new("--memory") { Description = "Memory in MiB (Nitro default: the manifest's resources.memory_mib; in the simulator a memory cgroup of its own, where the machine has the controller)." };

        public Option<bool> Debug { get; } = new("--debug") { Description = "Debug mode: attestation documents carry all-zero PCR0-2, as on Nitro." };

        public Option<string?> ParentRole { get; } = new("--parent-role") { Description = "Simulator: the parent instance's IAM role ARN, measured into PCR3." };

        public Option<string?> ParentId { get; } = new("--parent-id") { Description = "Simulator: the parent instance id (i-…), measured into PCR4." };

        public Option<string?> SimRoot { get; } = new("--sim-root") { Description = "Simulator: the directory of the simulated root (default ~/.cloister/sim)." };

        public Option<bool> KeepRunDirectory { get; } = new("--keep-run-dir") { Description = "Simulator: keep the run directory (unpacked ramdisks, sockets) after the run." };

        public Option<string[]> Publish { get; } = new("--publish") { Description = "Listen on HOSTPORT for the manifest's ingress PORT (HOSTPORT:PORT; HOSTPORT 0 picks a free port). Repeatable." };

        public Option<bool> RelayIngress { get; } = new("--relay-ingress") { Description = "Simulator: relay each ingress connection through the host over vsock, as on Nitro, instead of handing it to the sandbox whole (slower: a hop more per request)." };

        public Option<string> IngressAddress { get; } = new("--ingress-address") { Description = "The address ingress listeners bind.", DefaultValueFactory = _ => "127.0.0.1" };

        public Option<bool> AllowPrivateEgress { get; } = new("--allow-private-egress") { Description = "Let egress the manifest allows reach loopback, private and link-local addresses (the metadata service too). For tests and demos only." };

        public Option<int?> EgressIdleTimeout { get; } = new("--egress-idle-timeout") { Description = "Seconds an egress connection may carry nothing before the host closes it (default 600; 0: never). The enclave's own proxy closes idle tunnels after 300 s regardless." };

        public Option<int?> EgressMaxTunnels { get; } = new("--egress-max-tunnels") { Description = "The most egress connections the host relays for the enclave at once (default 2048); more are refused. The enclave's own proxy allows 1024." };

        public Option<string?> ProvisionerCredentials { get; } = new("--provisioner-credentials") { Description = "The host's provisioner credentials (host.json from 'cloister provisioner host add'); required when the manifest has a provisioning section." };

        public Option<string?> Provisioner { get; } = new("--provisioner") { Description = "The provisioner's https:// URL for tokens and the relay, when it is not the credentials' (e.g. another address of the same service)." };

        public Option<double> GracePeriod { get; } = new("--grace-period") { Description = "Seconds the app has to exit after SIGTERM before the enclave is killed.", DefaultValueFactory = _ => 10 };

        public void AddTo(Command command)
        {
            command.Arguments.Add(Image);
            foreach (var option in new Option[] { Simulate, Cpus, Memory, Debug, ParentRole, ParentId, SimRoot, KeepRunDirectory, Publish, RelayIngress, IngressAddress, AllowPrivateEgress, EgressIdleTimeout, EgressMaxTunnels, ProvisionerCredentials, Provisioner, GracePeriod })
            {
                command.Options.Add(option);
            }
        }
    }

    /// <summary>The provisioning flags, checked against the manifest once the image is open.</summary>
    [SupportedOSPlatform("linux")]
    private sealed record ProvisioningArguments(string? CredentialsPath, Uri? Provisioner)
    {
        private static readonly TimeSpan s_firstTokenBound = TimeSpan.FromSeconds(30);

        public static ProvisioningArguments From(string? credentialsPath, string? provisioner)
        {
            if (provisioner is null)
            {
                return new ProvisioningArguments(credentialsPath, null);
            }

            if (credentialsPath is null)
            {
                throw CommandFailedException.Usage("--provisioner needs --provisioner-credentials");
            }

            return Uri.TryCreate(provisioner, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps
                ? new ProvisioningArguments(credentialsPath, url)
                : throw CommandFailedException.Usage($"--provisioner '{provisioner}' is not an https:// URL");
        }

        /// <summary>Fetches the first token, or returns <see langword="null"/> for an image that is not provisioned.</summary>
        public async Task<HostProvisioning?> StartAsync(ProvisioningSettings? manifest, Action<string> notice, CancellationToken cancellationToken)
        {
            if (manifest is null)
            {
                return CredentialsPath is null
                    ? null
                    : throw CommandFailedException.Usage("--provisioner-credentials given, but the image's manifest has no provisioning section");
            }

            if (CredentialsPath is null)
            {
                throw CommandFailedException.Usage($"the image is provisioned (its manifest's provisioning names deployment '{manifest.TokenAudience}'): pass --provisioner-credentials host.json");
            }

            ProvisionerCredentials credentials;
            try
            {
                credentials = ProvisionerCredentials.Read(CredentialsPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw CommandFailedException.Usage($"--provisioner-credentials: {ex.Message}");
            }
            catch (FormatException ex)
            {
                throw new CommandFailedException(ex.Message, ExitCodes.Invalid, ex);
            }

            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(s_firstTokenBound);
            try
            {
                return await HostProvisioning.StartAsync(credentials, Provisioner, manifest.TokenAudience, notice, bound.Token);
            }
            catch (ProvisionerUnavailableException ex)
            {
                throw new CommandFailedException(ex.Message, ExitCodes.Invalid, ex);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new CommandFailedException($"no token from the provisioner within {s_firstTokenBound.TotalSeconds} s", ExitCodes.Invalid, ex);
            }
        }
    }
}
