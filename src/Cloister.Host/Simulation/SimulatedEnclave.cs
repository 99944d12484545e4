using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Simulation;
using Cloister.Build.Eif;
using Cloister.Host.Processes;
using Cloister.Host.Supervision;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Nsm;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Simulation;

/// <summary>
/// An EIF running in the simulator: its ramdisks unpacked into the run directory, a software NSM with the image's
/// PCRs on <c>nsm.sock</c>, and the customer ramdisk's <c>cmd</c> in a bubblewrap sandbox (or, without bubblewrap,
/// unisolated). Made by <see cref="SimulatorLauncher.Prepare"/>.
/// </summary>
public sealed class SimulatedEnclave : HostedEnclave
{
    private readonly SimulatorOptions _options;
    private readonly UnpackedEnclaveImage _image;
    private readonly SandboxCommandLine _commandLine;
    private readonly SimulatedNitroRoot _root;
    private readonly MemoryCgroup? _cgroup;
    private readonly SoftwareNsm _nsm;
    private readonly NsmSocketServer _nsmServer;
    private readonly CancellationTokenSource _nsmStop = new();
    private readonly Task _nsmServing;
    private readonly TaskCompletionSource<EnclaveTermination> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _process;
    private bool _forced;

    internal SimulatedEnclave(
        SimulatorOptions options, UnpackedEnclaveImage image, SandboxCommandLine commandLine, SimulatedNitroRoot root, bool rootCreated, MemoryCgroup? cgroup, IReadOnlyList<string> warnings)
    {
        _cgroup = cgroup;
        _options = options;
        _image = image;
        _commandLine = commandLine;
        _root = root;
        RootCreated = rootCreated;
        Warnings = warnings;
        HostTransport = VsockTransport.Create(new VsockTransportOptions
        {
            Kind = VsockTransportKind.Simulated,
            RunDirectory = commandLine.SocketRoot,
            LocalCid = VsockEndpoint.HostCid,
        });
        Directory.CreateDirectory(VsockTransport.GetSimulatedSocketDirectory(commandLine.SocketRoot), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _nsm = new SoftwareNsm(root, NsmOptions(options, image.Measurements));
        _nsmServer = new NsmSocketServer(Path.Combine(commandLine.SocketRoot, "nsm.sock"), _nsm.ProcessRequest, options.Notice);
        _nsmServing = _nsmServer.RunAsync(_nsmStop.Token);
    }

    /// <inheritdoc/>
    public override string Kind => "simulator";

    /// <inheritdoc/>
    public override VsockTransport HostTransport { get; }

    /// <inheritdoc/>
    public override EifMeasurements Measurements => _image.Measurements;

    /// <inheritdoc/>
    public override EnclaveLaunchSpec? LaunchSpec => _image.LaunchSpec;

    /// <inheritdoc/>
    public override uint Cid => _process is not null ? _options.Cid : throw new InvalidOperationException("the enclave has not been started");

    /// <inheritdoc/>
    public override Task<EnclaveTermination> Completion => _completion.Task;

    /// <summary>The unpacked image (root, <c>cmd</c>, <c>env</c>).</summary>
    public UnpackedEnclaveImage Image => _image;

    /// <summary>Whether the enclave runs in its own namespaces (bubblewrap); if not, <see cref="Warnings"/> says so.</summary>
    public bool Isolated => _commandLine.Isolated;

    /// <summary>Whether the simulated root was created for this run (first use of its directory).</summary>
    public bool RootCreated { get; }

    /// <summary>The simulated root's certificate: the trust anchor of this enclave's attestation documents.</summary>
    public X509Certificate2 RootCertificate => _root.Certificate;

    /// <summary>What the simulator cannot do as asked (no isolation, limits not enforced), for the user to read.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The sandbox's process id on the host, once started.</summary>
    public int? ProcessId => _process?.Id;

    /// <inheritdoc/>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_process is not null)
        {
            throw new InvalidOperationException("the enclave was started before");
        }

        var info = new ProcessStartInfo(_commandLine.Arguments[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _commandLine.WorkingDirectory ?? "",
        };
        foreach (var argument in _commandLine.Arguments.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        if (!_commandLine.Isolated)
        {
            info.Environment.Clear();
            foreach (var (name, value) in _commandLine.Environment)
            {
                info.Environment[name] = value;
            }
        }

        var process = await StartOnOwnThreadAsync(info);
        _process = process;
        process.StandardInput.Close();
        _ = WatchAsync(process);
    }

    /// <inheritdoc/>
    public override async Task<EnclaveTermination> StopAsync(TimeSpan gracePeriod)
    {
        var process = _process ?? throw new InvalidOperationException("the enclave has not been started");
        if (!_completion.Task.IsCompleted)
        {
            // Without the supervisor's stop port (still booting, or an image whose cmd is not Cloister's supervisor), the
            // customer cmd gets SIGTERM directly. The sandbox's init (PID 1) ignores signals from outside its namespace.
            if (!await TryRequestStopAsync()
                && (_commandLine.Isolated ? ProcessTree.FindDescendantByNamespacePid(process.Id, 2) : process.Id) is { } pid)
            {
                Posix.Signal(pid, Posix.SigTerm);
            }

            if (await Task.WhenAny(_completion.Task, Task.Delay(gracePeriod)) != _completion.Task)
            {
                _forced = true;
                Kill(process);
            }
        }

        return await _completion.Task;
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!_completion.Task.IsCompleted)
            {
                _forced = true;
                Kill(process);
            }

            await _completion.Task;
            process.Dispose();
        }

        await _nsmStop.CancelAsync();
        await _nsmServing;
        _nsmStop.Dispose();
        _nsm.Dispose();
        _root.Dispose();
        _cgroup?.Dispose();
        if (!_options.KeepRunDirectory && Directory.Exists(_options.RunDirectory))
        {
            Directory.Delete(_options.RunDirectory, recursive: true);
        }
    }

    private static SoftwareNsmOptions NsmOptions(SimulatorOptions options, EifMeasurements measurements)
    {
        var nsmOptions = new SoftwareNsmOptions
        {
            ParentRoleArn = options.ParentRoleArn,
            ParentInstanceId = options.ParentInstanceId,
        };
        // Nitro zeroes PCR0-2 of an enclave started in debug mode; its documents cannot pass for a production enclave's.
        if (!options.Debug)
        {
            nsmOptions.Pcrs[0] = measurements.Pcr0;
            nsmOptions.Pcrs[1] = measurements.Pcr1;
            nsmOptions.Pcrs[2] = measurements.Pcr2;
        }

        if (measurements.Pcr8 is { } pcr8)
        {
            nsmOptions.Pcrs[8] = pcr8;
        }

        return nsmOptions;
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It ended on its own meanwhile.
        }
    }

    private static Task<Process> StartOnOwnThreadAsync(ProcessStartInfo info)
    {
        // bubblewrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that forked it ends, not the
        // process: started from a pool thread, the sandbox would be killed whenever the pool retires that thread.
        // So a thread of its own forks it and lives exactly as long as the sandbox.
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Process process;
            try
            {
                process = Process.Start(info) ?? throw new EnclaveLaunchException($"could not start {info.FileName}");
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                started.SetException(new EnclaveLaunchException($"could not start {info.FileName}: {ex.Message}", ex));
                return;
            }

            started.SetResult(process);
            process.WaitForExit();
        })
        {
            IsBackground = true,
            Name = "cloister sandbox",
        };
        thread.Start();
        return started.Task;
    }

    private async Task WatchAsync(Process process)
    {
        var stdout = ForwardAsync(process.StandardOutput);
        var stderr = ForwardAsync(process.StandardError);
        await process.WaitForExitAsync();
        // An unisolated enclave may leave a process behind that holds the pipes open; its output is not worth waiting for.
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(2)));
        _completion.TrySetResult(new EnclaveTermination(process.ExitCode, _forced));
    }

    private async Task ForwardAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            _options.ConsoleLine?.Invoke(line);
        }
    }
}
