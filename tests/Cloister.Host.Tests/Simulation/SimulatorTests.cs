using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Verification;
using Cloister.Build.Eif;
using Cloister.Host.Simulation;
using Cloister.Host.Tests.TestEnclave;
using Cloister.Runtime.Ingress;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Nsm;
using Cloister.Testing;

namespace Cloister.Host.Tests.Simulation;

/// <summary>
/// The simulator end to end with the test enclave (a busybox script speaking the host protocol) in bubblewrap. The real
/// supervisor is not involved: these prove the host side, the sandbox and the NSM.
/// </summary>
public sealed class SimulatorTests
{
    [Fact]
    public async Task The_app_exit_code_and_its_logs_come_out_of_the_run()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "3");
        var result = await harness.RunAsync();

        Assert.Equal(3, result.ExitCode);
        Assert.Equal(new ExitedEvent(3, null), result.Exited);
        Assert.False(result.StopRequested);
        Assert.Contains("exiting with 3", harness.Output.ToString(), StringComparison.Ordinal);
        Assert.Contains("joined-line", harness.Output.ToString().Split('\n', StringSplitOptions.TrimEntries));
        var diagnostics = harness.Diagnostics.ToString();
        Assert.Contains("app: about to exit", diagnostics, StringComparison.Ordinal);
        Assert.Contains("cloister: enclave booting", diagnostics, StringComparison.Ordinal);
        Assert.Contains("cloister: enclave ready", diagnostics, StringComparison.Ordinal);
        Assert.Contains("cloister: app exited with code 3", diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_app_killed_by_a_signal_makes_the_run_exit_with_128_plus_the_signal()
    {
        using var harness = await SimulatorHarness.CreateAsync("killed", "9");
        var result = await harness.RunAsync();

        Assert.Equal(new ExitedEvent(null, 9), result.Exited);
        Assert.True(result.ExitCode == 137, harness.Transcript);
        Assert.Contains("cloister: app killed by signal 9", harness.Diagnostics.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_exited_status_the_sandbox_exit_status_is_the_run_exit_code()
    {
        using var harness = await SimulatorHarness.CreateAsync("crash", "5");
        var result = await harness.RunAsync();

        Assert.Null(result.Exited);
        Assert.Equal(5, result.Termination.ExitCode);
        Assert.Equal(5, result.ExitCode);
    }

    [Fact]
    public async Task The_sandbox_has_only_loopback_no_route_out_and_its_own_pid_namespace()
    {
        using var hostOnly = new TcpListener(IPAddress.Loopback, 0);
        hostOnly.Start();
        var port = ((IPEndPoint)hostOnly.LocalEndpoint).Port;
        using var harness = await SimulatorHarness.CreateAsync("probe", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var result = await harness.RunAsync();

        var lines = harness.Output.ToString().Split('\n', StringSplitOptions.TrimEntries);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("pid 2", lines);
        Assert.Contains("routes 0", lines);
        Assert.Contains("links lo", lines);
        Assert.Contains(lines, line => line.StartsWith("route-get", StringComparison.Ordinal) && line.Contains("unreachable", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("host-loopback unreachable", lines);
        Assert.Contains("nsm socket", lines);
        Assert.False(hostOnly.Pending());
    }

    [Fact]
    public async Task Ingress_pipes_tcp_to_the_enclave_vsock_port_with_half_close()
    {
        using var harness = await SimulatorHarness.CreateAsync("serve", TestEnclaveImage.IngressPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        IPEndPoint? ingress = null;
        var payload = new byte[300_000];
        Random.Shared.NextBytes(payload);
        byte[]? echoed = null;
        Exception? clientFailure = null;
        var result = await harness.RunAsync(
            onIngress: forwarder => ingress = forwarder.LocalEndpoint,
            onStatus: (statusEvent, stop) =>
            {
                if (statusEvent is ReadyEvent)
                {
                    _ = Task.Run(async () =>
                    {
                        try
                        {
                            echoed = await EchoAsync(ingress!, payload);
                        }
                        catch (Exception ex)
                        {
                            clientFailure = ex;
                        }
                        finally
                        {
                            await stop.CancelAsync();
                        }
                    });
                }
            });

        Assert.True(clientFailure is null && echoed is not null, $"{clientFailure}\n{result}\n{harness.Transcript}");
        // The test enclave echoes the vsock connection as it arrives: the host's PROXY v2 header, then the client's bytes.
        var echoedSequence = new ReadOnlySequence<byte>(echoed);
        Assert.True(ProxyProtocol.TryRead(echoedSequence, out var header, out var headerEnd));
        Assert.Equal(ingress, header!.Destination);
        Assert.Equal(IPAddress.Loopback, header.Source.Address);
        Assert.Equal(payload, echoedSequence.Slice(headerEnd).ToArray());
        Assert.Equal(IPAddress.Loopback, ingress!.Address);
        Assert.True(result.StopRequested);
    }

    [Fact]
    public async Task A_stop_request_gives_the_app_SIGTERM_and_its_clean_exit()
    {
        using var harness = await SimulatorHarness.CreateAsync("serve", "7777");
        var result = await harness.RunAsync(onStatus: (statusEvent, stop) =>
        {
            if (statusEvent is ReadyEvent)
            {
                stop.Cancel();
            }
        });

        Assert.True(result.StopRequested);
        Assert.False(result.Termination.Forced);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{harness.Transcript}");
        Assert.Contains("got SIGTERM", harness.Output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_app_that_ignores_SIGTERM_is_killed_after_the_grace_period()
    {
        using var harness = await SimulatorHarness.CreateAsync("ignore-term");
        var result = await harness.RunAsync(
            gracePeriod: TimeSpan.FromMilliseconds(500),
            onStatus: (statusEvent, stop) =>
            {
                if (statusEvent is ReadyEvent)
                {
                    stop.Cancel();
                }
            });

        Assert.True(result.Termination.Forced);
        Assert.Null(result.Exited);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("ended by force", harness.Diagnostics.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_NSM_socket_answers_with_the_image_PCRs_and_documents_verify_under_the_simulated_root()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "0");
        await using var enclave = SimulatorLauncher.Prepare(harness.Options());
        using var nsm = await NsmSocketDevice.ConnectAsync(Path.Combine(harness.RunDirectory, "nsm.sock"));
        using var image = EifReader.Open(harness.ImagePath);
        using var inspection = image.Inspect();

        foreach (var (index, expected) in new[] { (0, inspection.Measurements.Pcr0), (1, inspection.Measurements.Pcr1), (2, inspection.Measurements.Pcr2) })
        {
            var response = NsmCodec.DecodeResponse(await nsm.ExchangeAsync(NsmCodec.Encode(new DescribePcrRequest((ushort)index))));
            Assert.Equal(expected, Assert.IsType<DescribePcrResponse>(response).Data);
        }

        var nonce = new byte[32];
        Random.Shared.NextBytes(nonce);
        var attestation = NsmCodec.DecodeResponse(await nsm.ExchangeAsync(NsmCodec.Encode(new AttestationRequest(nonce: nonce))));
        var verification = new AttestationVerifier(new AttestationVerifierOptions { TrustedRoots = [enclave.RootCertificate] })
            .Verify(Assert.IsType<AttestationResponse>(attestation).Document);
        Assert.True(verification.IsValid, verification.ToString());
        Assert.Equal(inspection.Measurements.Pcr0, verification.Document!.Document.Pcrs[0]);
        Assert.Equal(nonce, verification.Document.Document.Nonce);
        Assert.Equal(Build.Eif.Pcr.ForInstanceId("i-0123456789abcdef0"), verification.Document.Document.Pcrs[4]);
        Assert.Equal(Build.Eif.Pcr.ForIamRole("arn:aws:iam::123456789012:role/parent"), verification.Document.Document.Pcrs[3]);
    }

    [Fact]
    public async Task A_corrupt_image_is_refused_before_anything_runs()
    {
        using var harness = await SimulatorHarness.CreateAsync("exit", "0");
        var bytes = File.ReadAllBytes(harness.ImagePath);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(harness.ImagePath, bytes);

        var error = Assert.Throws<EifFormatException>(() => SimulatorLauncher.Prepare(harness.Options()));
        Assert.Equal(EifError.CrcMismatch, error.Error);
        Assert.False(Directory.Exists(harness.RunDirectory));
    }

    [Fact]
    public async Task Without_bubblewrap_the_enclave_runs_chrooted_and_unisolated_with_a_warning()
    {
        Assert.True(Processes.Posix.IsRoot, "the chroot fallback is tested as root, as CI runs");
        using var harness = await SimulatorHarness.CreateAsync("exit", "4");
        var tools = new SandboxTools(Bubblewrap: null, Taskset: null, Chroot: ExternalTool.Require("chroot", "coreutils"));
        await using (var enclave = SimulatorLauncher.Prepare(harness.Options(tools)))
        {
            Assert.False(enclave.Isolated);
            Assert.Contains(enclave.Warnings, warning => warning.Contains("UNISOLATED", StringComparison.Ordinal));
        }

        var result = await harness.RunAsync(tools);
        Assert.True(result.ExitCode == 4, $"exit {result.ExitCode}\n{harness.Transcript}");
        Assert.Contains("exiting with 4", harness.Output.ToString(), StringComparison.Ordinal);
    }

    private static async Task<byte[]> EchoAsync(IPEndPoint ingress, byte[] payload)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(ingress);
        var stream = client.GetStream();
        var reading = Task.Run(async () =>
        {
            using var received = new MemoryStream();
            await stream.CopyToAsync(received);
            return received.ToArray();
        });
        await stream.WriteAsync(payload);
        client.Client.Shutdown(SocketShutdown.Send);
        return await reading;
    }
}
