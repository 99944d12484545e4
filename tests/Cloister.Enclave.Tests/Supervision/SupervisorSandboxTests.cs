using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Verification;
using Cloister.Enclave.Tests.Ingress;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Runtime.Ingress;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Messages;
using Cloister.Runtime.Vsock;

namespace Cloister.Enclave.Tests.Supervision;

/// <summary>The published supervisor in its default mode, in bubblewrap, with a busybox app and a simulated host.</summary>
[Collection(PublishedSupervisorDefinition.Name)]
public sealed class SupervisorSandboxTests(PublishedSupervisorFixture supervisor)
{
    private const int SigUsr1 = 10;
    private const int SigTerm = 15;

    [Fact]
    public async Task App_exit_code_is_reported_and_becomes_the_supervisors_and_its_output_is_logged_tagged()
    {
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell("echo to-stdout; echo to-stderr >&2; exit 3"));

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 3, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>([new BootingEvent(), new ReadyEvent(), new ExitedEvent(3, null)], statuses);
        Assert.Contains(new LogRecord(LogSource.Stdout, "to-stdout", false), logs);
        Assert.Contains(new LogRecord(LogSource.Stderr, "to-stderr", false), logs);
        Assert.DoesNotContain(logs, record => record.Source != LogSource.Stdout && record.Text == "to-stdout");
        Assert.Contains(logs, record => record.Source == LogSource.Supervisor && record.Text.Contains("exit code 3", StringComparison.Ordinal));
        // The console gets the app's output too.
        // The log stream carries the app's output; in the simulator the console does not repeat it.
        Assert.DoesNotContain("to-stdout", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("to-stderr", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_by_name_gets_its_primary_and_supplementary_groups_and_the_workdir()
    {
        var image = new ImageRunConfig { Env = [$"PATH={BusyboxImage.Path}"], User = "app", WorkingDir = "/home/app" };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell("id; pwd"), image);

        var (result, _, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        var stdout = StdoutLines(logs);
        Assert.Equal("uid=1000(app) gid=1000(app) groups=29(audio),50(staff),1000(app)", stdout[0]);
        Assert.Equal("/home/app", stdout[1]);
    }

    [Theory]
    [InlineData("4242:4343", "uid=4242 gid=4343 groups=4343")]
    [InlineData("1000", "uid=1000(app) gid=1000(app) groups=29(audio),50(staff),1000(app)")]
    [InlineData("app:staff", "uid=1000(app) gid=50(staff) groups=29(audio),50(staff)")]
    [InlineData("", "uid=0(root) gid=0(root) groups=0(root)")]
    public async Task Numeric_and_mixed_users_are_applied(string user, string expected)
    {
        var image = new ImageRunConfig { Env = [$"PATH={BusyboxImage.Path}"], User = user, WorkingDir = "/tmp" };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell("id; pwd"), image);

        var (result, _, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal([expected, "/tmp"], StdoutLines(logs));
    }

    [Fact]
    public async Task App_environment_is_its_images_and_manifests_plus_the_proxy_and_none_of_the_supervisors()
    {
        var manifest = new EnclaveManifest
        {
            Name = "test",
            Image = "busybox",
            Cmd = ["sh", "-c", "env; exec grep -E '^(SigIgn|SigBlk)' /proc/self/status"],
            Env = new Dictionary<string, string> { ["FROM_MANIFEST"] = "m", ["HTTP_PROXY"] = "http://elsewhere:1" },
        };
        var image = new ImageRunConfig { Env = [$"PATH={BusyboxImage.Path}", "FROM_IMAGE=i"] };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, manifest, image);

        var (result, _, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        var environment = StdoutLines(logs).Where(line => line.Contains('=', StringComparison.Ordinal)).ToHashSet();
        Assert.Superset(
            new HashSet<string>
            {
                $"PATH={BusyboxImage.Path}", "FROM_IMAGE=i", "FROM_MANIFEST=m",
                "HTTP_PROXY=http://127.0.0.1:3128", "HTTPS_PROXY=http://127.0.0.1:3128", "http_proxy=http://127.0.0.1:3128",
                "https_proxy=http://127.0.0.1:3128", "NO_PROXY=localhost,127.0.0.1", "no_proxy=localhost,127.0.0.1",
            },
            environment);
        Assert.DoesNotContain(environment, line => line.StartsWith("HOME=", StringComparison.Ordinal) || line.StartsWith("OPENSSL_CONF=", StringComparison.Ordinal)
            || line.StartsWith("CLOISTER_", StringComparison.Ordinal) || line.StartsWith("LD_", StringComparison.Ordinal));
        // Nothing the .NET runtime ignores or blocks for itself leaks into the app (SIGPIPE above all).
        Assert.True(StdoutLines(logs).Contains("SigIgn:\t0000000000000000"), scenario.Host.LogText());
        Assert.Contains("SigBlk:\t0000000000000000", StdoutLines(logs));
    }

    [Fact]
    public async Task Signals_the_supervisors_parent_ignored_are_not_ignored_in_the_app()
    {
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell("exec grep -E '^SigIgn' /proc/self/status"));

        var result = await Task.Run(() => scenario.Rootfs.RunSupervisorIgnoring("HUP INT QUIT", SimulatedHost.SupervisorEnvironment));
        var logs = await scenario.Host.AllLogsAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal(["SigIgn:\t0000000000000000"], StdoutLines(logs));
    }

    [Fact]
    public async Task Signals_to_the_supervisor_reach_the_app_and_after_sigterm_the_apps_code_comes_back()
    {
        await using var scenario = await SupervisorScenario.CreateAsync(
            supervisor.Bundle, SupervisorScenario.Shell("trap 'echo got USR1' USR1; trap 'echo got TERM; exit 42' TERM; echo trap set; while true; do sleep 0.1; done"));
        using var sandbox = scenario.Start();
        await scenario.Host.WaitForLogAsync(record => record.Text == "trap set");

        sandbox.SignalSupervisor(SigUsr1);
        await scenario.Host.WaitForLogAsync(record => record.Text == "got USR1");
        sandbox.SignalSupervisor(SigTerm);
        var result = await sandbox.WaitAsync();

        Assert.True(result.ExitCode == 42, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>([new BootingEvent(), new ReadyEvent(), new ExitedEvent(42, null)], await scenario.Host.AllStatusesAsync());
        Assert.Contains(new LogRecord(LogSource.Stdout, "got TERM", false), await scenario.Host.AllLogsAsync());
    }

    [Fact]
    public async Task A_stop_request_on_the_stop_port_gives_the_app_sigterm_and_its_code_comes_back()
    {
        await using var scenario = await SupervisorScenario.CreateAsync(
            supervisor.Bundle, SupervisorScenario.Shell("trap 'echo got TERM; exit 43' TERM; echo trap set; while true; do sleep 0.1; done"));
        using var sandbox = scenario.Start();
        await scenario.Host.WaitForLogAsync(record => record.Text == "trap set");

        await StopRequest.SendAsync(scenario.Host.Transport, SimulatedHost.EnclaveCid);
        var result = await sandbox.WaitAsync();

        Assert.True(result.ExitCode == 43, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>([new BootingEvent(), new ReadyEvent(), new ExitedEvent(43, null)], await scenario.Host.AllStatusesAsync());
    }

    [Fact]
    public async Task Restart_on_failure_restarts_with_doubling_backoff_and_counts_the_restarts()
    {
        const string script = "n=$(cat /tmp/runs 2>/dev/null); n=$((n+1)); echo $n > /tmp/runs; echo run $n; [ $n -ge 3 ] && exit 0; exit 3";
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell(script, RestartPolicy.OnFailure));

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal<StatusEvent>(
            [
                new BootingEvent(), new ReadyEvent(),
                new RestartingEvent(1, 3, null, 1000), new ReadyEvent(),
                new RestartingEvent(2, 3, null, 2000), new ReadyEvent(),
                new ExitedEvent(0, null),
            ],
            statuses);
        Assert.Equal(["run 1", "run 2", "run 3"], StdoutLines(logs));
    }

    [Fact]
    public async Task Orphans_of_the_app_are_reparented_to_the_supervisor_and_reaped()
    {
        // Three children outlive the shells that started them; each exits a moment later. Whoever adopts them must reap them.
        const string script = """
            for i in 1 2 3; do orphan=$(sh -c 'sleep 0.3 >/dev/null 2>&1 & echo $!'); echo "orphan $orphan parent $(grep PPid /proc/$orphan/status | cut -f2)"; done
            echo "supervisor $PPID"
            sleep 1.5
            zombies=0; for f in /proc/[0-9]*/stat; do read -r line < $f 2>/dev/null; case "$line" in *") Z "*) zombies=$((zombies+1));; esac; done
            echo "zombies $zombies"
            """;
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell(script));

        var (result, _, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        var stdout = StdoutLines(logs);
        var supervisorPid = stdout.Single(line => line.StartsWith("supervisor ", StringComparison.Ordinal))["supervisor ".Length..];
        var orphans = stdout.Where(line => line.StartsWith("orphan ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, orphans.Count);
        Assert.All(orphans, line => Assert.EndsWith($" parent {supervisorPid}", line, StringComparison.Ordinal));
        Assert.Contains("zombies 0", stdout);
    }

    [Fact]
    public async Task Passthrough_ingress_connects_the_hosts_vsock_port_to_the_app()
    {
        const uint port = 8443;
        var ingress = new IngressPort { Port = (int)port, AppPort = 8080, Tls = IngressTls.Passthrough };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell("mkdir -p /tmp/www; echo hello through vsock > /tmp/www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp/www", ingress: [ingress]));
        using var sandbox = scenario.Start();
        Assert.Equal(new BootingEvent(), await scenario.Host.NextStatusAsync());
        Assert.Equal(new ReadyEvent(), await scenario.Host.NextStatusAsync());

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => GetAsync(scenario.Host.Transport, new VsockEndpoint(SimulatedHost.EnclaveCid, port))))
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(responses, response =>
        {
            Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
            Assert.EndsWith("\r\n\r\nhello through vsock\n", response, StringComparison.Ordinal);
        });

        // As cloister run serves it in the simulator: TCP connections handed over whole, across the sandbox boundary.
        var handedOver = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => GetHandedOverAsync(scenario.Host.Transport, new VsockEndpoint(SimulatedHost.EnclaveCid, port))))
            .WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(responses, handedOver);

        // Without the host's PROXY v2 header first, or with nothing at all, the connection is closed and the log says why.
        var endpoint = new VsockEndpoint(SimulatedHost.EnclaveCid, port);
        Assert.Equal("", await GetAsync(scenario.Host.Transport, endpoint, proxyHeader: false).WaitAsync(TimeSpan.FromSeconds(60)));
        await scenario.Host.WaitForLogAsync(record => record.Source == LogSource.Supervisor
            && record.Text == $"ingress {port}: PROXY v2 header: signature at byte 0: 0x47 where the PROXY v2 signature has 0x0D; connection closed");
        await using (var silent = await scenario.Host.Transport.ConnectAsync(endpoint))
        {
            Assert.Equal(0, await silent.ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
        }

        await scenario.Host.WaitForLogAsync(record => record.Source == LogSource.Supervisor && record.Text == $"ingress {port}: no PROXY v2 header within 5 s; connection closed");
        sandbox.SignalSupervisor(SigTerm);
        var result = await sandbox.WaitAsync();
        // busybox httpd does not handle TERM: it dies of it, and the supervisor reports the signal and exits 128 + 15.
        Assert.True(result.ExitCode == 128 + SigTerm, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal(new ExitedEvent(null, SigTerm), await scenario.Host.NextStatusAsync());
    }

    [Fact]
    public async Task Local_api_returns_a_document_that_verifies_under_the_simulated_root_with_the_nonce_and_user_data_asked_for()
    {
        var nonce = Encoding.ASCII.GetBytes("nonce from the sandbox test");
        var userData = Encoding.ASCII.GetBytes("user data from the app");
        var body = $$"""{"nonce":"{{Convert.ToBase64String(nonce)}}","user_data":"{{Convert.ToBase64String(userData)}}"}""";
        var script = $$"""
            wget -q -Y off -O /tmp/doc --header 'Content-Type: application/json' --post-data '{{body}}' http://127.0.0.1:9999/attestation-doc; echo "good $?"
            wget -q -Y off -O /tmp/bad --post-data '{"nonce":"not base64!"}' http://127.0.0.1:9999/attestation-doc; echo "bad $?"
            """;
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell(script));

        var (result, _, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal(["good 0", "bad 1"], StdoutLines(logs));
        Assert.Contains(logs, record => record.Source == LogSource.Stderr && record.Text.Contains("400 Bad Request", StringComparison.Ordinal));
        var verifier = new AttestationVerifier(new AttestationVerifierOptions { TrustedRoots = [scenario.Host.Root.Certificate] });
        var verification = verifier.Verify(await File.ReadAllBytesAsync(scenario.Rootfs.At("tmp/doc")), new AttestationPolicy { ExpectedNonce = nonce, ExpectedUserData = userData, AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
    }

    [Fact]
    public async Task App_egress_goes_through_the_supervisors_proxy_which_refuses_what_the_manifest_does_not_allow()
    {
        await using var scenario = await SupervisorScenario.CreateAsync(
            supervisor.Bundle, SupervisorScenario.Shell("wget -q -O /dev/null http://not-allowed.example/; echo \"wget $?\""));

        var (result, _, logs) = await scenario.RunAsync();

        Assert.True(result.ExitCode == 0, $"{result}\n{scenario.Host.LogText()}");
        Assert.Equal(["wget 1"], StdoutLines(logs));
        Assert.Contains(logs, record => record.Source == LogSource.Stderr && record.Text.Contains("403", StringComparison.Ordinal));
        Assert.Contains(logs, record => record.Source == LogSource.Supervisor && record.Text.StartsWith("egress notallowed", StringComparison.Ordinal)
            && record.Text.Contains("not-allowed.example", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Attested_ingress_port_terminates_tls_with_a_certificate_whose_document_verifies_and_forwards_to_the_app()
    {
        const uint port = 8443;
        var ingress = new IngressPort { Port = (int)port, AppPort = 8080, Tls = IngressTls.Attested, Hostnames = ["enclave.example"] };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, SupervisorScenario.Shell("mkdir -p /tmp/www; echo hello through attested tls > /tmp/www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp/www", ingress: [ingress]));
        using var sandbox = scenario.Start();
        Assert.Equal(new BootingEvent(), await scenario.Host.NextStatusAsync());
        Assert.Equal(new ReadyEvent(), await scenario.Host.NextStatusAsync());

        X509Certificate2? served = null;
        var enclavePort = new VsockEndpoint(SimulatedHost.EnclaveCid, port);
        // Relayed (as on Nitro), then handed over whole (as cloister run serves it in the simulator).
        foreach (var connection in new Func<Task<Stream>>[] { async () => await ConnectAsync(scenario.Host.Transport, enclavePort), async () => await HandedOverConnection.OpenAsync(scenario.Host.Transport, enclavePort, ProxyHeaderBytes()) })
        {
            await using var tls = new SslStream(await connection());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "enclave.example",
                RemoteCertificateValidationCallback = (_, certificate, _, _) => (served = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())) is not null,
            }).WaitAsync(TimeSpan.FromSeconds(60));
            await tls.WriteAsync("GET /index.html HTTP/1.0\r\nHost: enclave.example\r\n\r\n"u8.ToArray());
            var response = await new StreamReader(tls, Encoding.UTF8).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));

            Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
            Assert.EndsWith("\r\n\r\nhello through attested tls\n", response, StringComparison.Ordinal);
        }

        Assert.True(AttestedCertificate.TryGetDocument(served!, out var document));
        var verifier = new AttestationVerifier(new AttestationVerifierOptions { TrustedRoots = [scenario.Host.Root.Certificate] });
        var verification = verifier.Verify(document, new AttestationPolicy { ExpectedUserData = AttestedCertificate.GetKeyBinding(served!), AllowDebugMode = true });
        Assert.True(verification.IsValid, verification.ToString());
        var thumbprint = Convert.ToHexStringLower(served!.GetCertHash(HashAlgorithmName.SHA256));
        await scenario.Host.WaitForLogAsync(record => record.Source == LogSource.Supervisor
            && record.Text.StartsWith($"ingress {port}: serving the base certificate sha256:{thumbprint}; its document's signing certificate expires ", StringComparison.Ordinal));
        sandbox.SignalSupervisor(SigTerm);
        var result = await sandbox.WaitAsync();
        Assert.True(result.ExitCode == 128 + SigTerm, $"{result}\n{scenario.Host.LogText()}");
    }

    [Fact]
    public async Task App_missing_from_its_path_exits_127_with_the_path_it_searched()
    {
        var manifest = new EnclaveManifest { Name = "test", Image = "busybox", Cmd = ["no-such-program"] };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, manifest);

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.Equal(127, result.ExitCode);
        Assert.Equal<StatusEvent>([new BootingEvent(), new ExitedEvent(127, null)], statuses);
        Assert.Contains(logs, record => record.Text == $"the app's executable 'no-such-program' is not in its PATH ({BusyboxImage.Path})");
    }

    [Fact]
    public async Task An_attested_port_whose_hostname_no_certificate_can_carry_exits_78_naming_the_port()
    {
        var ingress = new IngressPort { Port = 8443, AppPort = 8080, Tls = IngressTls.Attested, Hostnames = ["not a hostname"] };
        var manifest = new EnclaveManifest { Name = "test", Image = "busybox", Cmd = ["sh", "-c", "exit 0"], Ingress = [ingress] };
        await using var scenario = await SupervisorScenario.CreateAsync(supervisor.Bundle, manifest);

        var (result, statuses, logs) = await scenario.RunAsync();

        Assert.Equal(78, result.ExitCode);
        Assert.Equal<StatusEvent>([new BootingEvent(), new ExitedEvent(78, null)], statuses);
        Assert.Contains(logs, record => record.Source == LogSource.Supervisor && record.Text.StartsWith("ingress 8443: hostnames: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_launch_spec_exits_78_with_a_message_and_without_a_host()
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);

        var result = rootfs.RunSupervisor(SimulatedHost.SupervisorEnvironment);

        Assert.Equal(78, result.ExitCode);
        Assert.StartsWith("cloister-enclave: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("/cloister/enclave.json", result.Stderr, StringComparison.Ordinal);
    }

    private static List<string> StdoutLines(IEnumerable<LogRecord> logs) =>
        [.. logs.Where(record => record.Source == LogSource.Stdout).Select(record => record.Text)];

    private static async Task<string> GetAsync(VsockTransport transport, VsockEndpoint endpoint, bool proxyHeader = true)
    {
        await using var stream = await ConnectAsync(transport, endpoint, proxyHeader);
        return await GetAsync(stream, stream.CompleteWrites);
    }

    private static async Task<string> GetHandedOverAsync(VsockTransport transport, VsockEndpoint endpoint)
    {
        await using var stream = await HandedOverConnection.OpenAsync(transport, endpoint, ProxyHeaderBytes());
        return await GetAsync(stream, () => stream.Socket.Shutdown(SocketShutdown.Send));
    }

    private static async Task<string> GetAsync(Stream stream, Action completeWrites)
    {
        await stream.WriteAsync("GET /index.html HTTP/1.0\r\nHost: enclave\r\n\r\n"u8.ToArray());
        // Half-close: the request is complete, and the answer must still come back through the pipe.
        completeWrites();
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        return await reader.ReadToEndAsync();
    }

    // A connection as the host's ingress forwarder opens it: the PROXY v2 header naming the client comes first.
    private static async Task<VsockStream> ConnectAsync(VsockTransport transport, VsockEndpoint endpoint, bool proxyHeader = true)
    {
        var stream = await transport.ConnectAsync(endpoint);
        if (proxyHeader)
        {
            await stream.WriteAsync(ProxyHeaderBytes());
        }

        return stream;
    }

    private static byte[] ProxyHeaderBytes()
    {
        var header = new byte[ProxyProtocol.MaxHeaderLength];
        var length = ProxyProtocol.Write(new ProxyHeader(IPEndPoint.Parse("203.0.113.9:50000"), IPEndPoint.Parse("127.0.0.1:8443")), header);
        return header[..length];
    }
}
