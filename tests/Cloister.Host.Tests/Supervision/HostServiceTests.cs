using System.Text;
using Cloister.Host.Supervision;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Relay;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Host.Tests.Supervision;

/// <summary>The host's vsock services are one list: all listened on before the enclave starts, all torn down after it.</summary>
public sealed class HostServiceTests : IDisposable
{
    private const uint PerConnectionPort = 7003;
    private const uint ListenerPort = 7002;
    private readonly TempRunDirectory _run = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _diagnostics = new();

    public void Dispose() => _run.Dispose();

    [Fact]
    public async Task Every_service_answers_from_the_first_moment_and_none_after_the_run()
    {
        var sawBeforeAnything = new List<string>();
        var enclave = new InProcessEnclave(_run.Path, async transport =>
        {
            // No retries: the services must already listen when the enclave starts.
            sawBeforeAnything.Add(await ExchangeAsync(transport, PerConnectionPort, "ping"));
            sawBeforeAnything.Add(await ExchangeAsync(transport, ListenerPort, "hello"));
            await using var status = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.StatusPort));
            using (var writer = new StatusWriter(status))
            {
                await writer.WriteAsync(new BootingEvent());
                await writer.WriteAsync(new ProvisioningRefusedEvent("the provisioner's key does not match provisioning.pinned_sha256"));
                await writer.WriteAsync(new ExitedEvent(77, null));
            }

            status.CompleteWrites();
            return 77;
        });

        var result = await HostSupervisor.RunAsync(enclave, Options(), CancellationToken.None);

        Assert.Equal(["per-connection: ping", "listener: hello"], sawBeforeAnything);
        Assert.Equal(77, result.ExitCode);
        Assert.Equal("the provisioner's key does not match provisioning.pinned_sha256", result.ProvisioningRefusal);
        Assert.Contains("cloister: provisioning refused: the provisioner's key does not match provisioning.pinned_sha256; the app will not start", _diagnostics.ToString(), StringComparison.Ordinal);
        foreach (var port in new[] { PerConnectionPort, ListenerPort, VsockEndpoint.StatusPort, VsockEndpoint.LogsPort })
        {
            await Assert.ThrowsAsync<VsockConnectException>(async () => await enclave.EnclaveTransport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, port)));
        }
    }

    [Fact]
    public async Task An_enclave_that_exits_as_soon_as_it_has_written_has_every_line_printed()
    {
        var enclave = new InProcessEnclave(_run.Path, async transport =>
        {
            await using var status = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.StatusPort));
            await using var logs = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.LogsPort));
            using (var writer = new LogWriter(logs))
            {
                await writer.WriteLineAsync(LogSource.Stdout, "the app's only line");
                await writer.WriteLineAsync(LogSource.Supervisor, "app exited with code 3");
            }

            using (var writer = new StatusWriter(status))
            {
                await writer.WriteAsync(new ExitedEvent(3, null));
            }

            return 3;
        });

        var result = await HostSupervisor.RunAsync(enclave, Options(), CancellationToken.None);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal(new ExitedEvent(3, null), result.Exited);
        Assert.Equal("the app's only line" + Environment.NewLine, _output.ToString());
        Assert.Contains("supervisor: app exited with code 3", _diagnostics.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_without_a_service_refuses()
    {
        var enclave = new InProcessEnclave(_run.Path, async transport =>
        {
            await Assert.ThrowsAsync<VsockConnectException>(async () => await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.ProvisioningTokenPort)));
            return 0;
        });

        var result = await HostSupervisor.RunAsync(enclave, Options(), CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Null(result.ProvisioningRefusal);
    }

    [Fact]
    public async Task Two_services_on_one_port_are_refused_before_the_enclave_starts()
    {
        var enclave = new InProcessEnclave(_run.Path, _ => Task.FromResult(0));
        var options = new HostSupervisorOptions
        {
            Output = _output,
            Diagnostics = _diagnostics,
            Services = [HostService.PerConnection(VsockEndpoint.LogsPort, "shadow logs", (_, _) => Task.CompletedTask)],
        };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => HostSupervisor.RunAsync(enclave, options, CancellationToken.None));

        Assert.StartsWith("vsock port 7001 has more than one service: logs, shadow logs", ex.Message, StringComparison.Ordinal);
        Assert.False(enclave.Started);
    }

    private HostSupervisorOptions Options() => new()
    {
        Output = _output,
        Diagnostics = _diagnostics,
        Services =
        [
            HostService.PerConnection(PerConnectionPort, "per-connection", (stream, token) => AnswerAsync(stream, "per-connection", token)),
            HostService.OnListener(ListenerPort, "listener", (listener, token) => AcceptLoop.RunAsync(
                listener.AcceptAsync,
                async (VsockStream stream, CancellationToken served) =>
                {
                    await using (stream)
                    {
                        await AnswerAsync(stream, "listener", served);
                    }
                },
                token)),
        ],
    };

    // Reads the peer's bytes to their end and answers "<name>: <them>".
    private static async Task AnswerAsync(VsockStream stream, string name, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        await stream.CopyToAsync(received, cancellationToken);
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{name}: {Encoding.ASCII.GetString(received.ToArray())}"), cancellationToken);
        stream.CompleteWrites();
    }

    private static async Task<string> ExchangeAsync(VsockTransport transport, uint port, string text)
    {
        await using var stream = await transport.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, port));
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text));
        stream.CompleteWrites();
        var answer = new MemoryStream();
        await stream.CopyToAsync(answer);
        return Encoding.ASCII.GetString(answer.ToArray());
    }
}
