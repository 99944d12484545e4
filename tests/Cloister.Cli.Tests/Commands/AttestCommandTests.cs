using System.Security.Cryptography;
using System.Text.Json;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Build.Eif;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary><c>cloister attest</c> as a user runs it, against an attested TLS server on 127.0.0.1 at the wall clock.</summary>
public sealed class AttestCommandTests : IClassFixture<SimulatedRootFixture>, IDisposable
{
    private readonly SimulatedNitroRoot _root;
    private readonly TestEnclave _enclave;
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-attest-").FullName;
    private readonly string _rootPem;
    private readonly string _measurements;

    public AttestCommandTests(SimulatedRootFixture fixture)
    {
        _root = fixture.Root;
        _enclave = new TestEnclave(_root, TimeProvider.System);
        _rootPem = Write("root.pem", _root.ExportCertificatePem());
        _measurements = WriteMeasurements("measurements.json", _enclave.Pcrs);
    }

    [Fact]
    public async Task An_attested_server_exits_0_and_prints_what_was_verified()
    {
        using var certificate = _enclave.Certificate();
        await using var server = new TestTlsServer(certificate);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("matched PCR0, PCR1, PCR2 of measurements.json", result.Stdout, StringComparison.Ordinal);
        Assert.Contains(_enclave.ModuleId, result.Stdout, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexString(SHA256.HashData(certificate.RawData)), result.Stdout, StringComparison.Ordinal);
        Assert.Contains(SimulatedNitroRoot.CommonName, result.Stdout, StringComparison.Ordinal);
        Assert.Contains("not asked for", result.Stdout, StringComparison.Ordinal);
        Assert.Empty(result.Stderr);
    }

    [Theory]
    [InlineData(EifMeasurements.HashAlgorithmNitroCli14)]
    [InlineData(EifMeasurements.HashAlgorithmNitroCli15)]
    public async Task Measurements_as_either_nitro_cli_release_prints_them_are_accepted(string hashAlgorithm)
    {
        using var certificate = _enclave.Certificate();
        await using var server = new TestTlsServer(certificate);
        var measurements = WriteMeasurements("named.json", _enclave.Pcrs, hashAlgorithm);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", measurements, "--root", _rootPem);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("matched PCR0, PCR1, PCR2 of named.json", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_prints_the_body_fetched_over_an_attested_connection()
    {
        using var certificate = _enclave.Certificate();
        await using var server = new TestTlsServer(certificate);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--get", "/status?verbose=1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.EndsWith("hello /status?verbose=1", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_with_a_nonce_takes_a_fresh_connection_with_its_own_nonce_and_an_error_status_exits_1()
    {
        await using var server = new TestTlsServer(serverName =>
            (NonceHostName.TryParse(serverName, out var nonce, out _) ? _enclave.Certificate(nonce) : throw new InvalidOperationException("no nonce"), []))
        {
            Respond = (target, serverName) => (503, "text/plain", "draining"),
        };

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--nonce", "--get", "/status");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("GET /status over the attested connection answered 503", result.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("draining", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, server.ServerNames.Distinct().Count());
    }

    [Theory]
    [InlineData("status")]
    [InlineData("https://elsewhere.example/x")]
    public void Get_needs_a_path(string path)
    {
        var result = CliRunner.Run("attest", "https://localhost:1", "--pcrs", _measurements, "--get", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--get", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_and_json_do_not_mix()
    {
        var result = CliRunner.Run("attest", "https://localhost:1", "--pcrs", _measurements, "--get", "/", "--json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--get", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_nonce_without_a_value_is_random_and_checked()
    {
        await using var server = new TestTlsServer(serverName =>
            (NonceHostName.TryParse(serverName, out var nonce, out _) ? _enclave.Certificate(nonce) : throw new InvalidOperationException("no nonce"), []));

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--json", "--nonce");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Stdout);
        var nonce = Convert.FromHexString(json.RootElement.GetProperty("nonce").GetString()!);
        Assert.Equal(32, nonce.Length);
        Assert.Equal([NonceHostName.Format(nonce, "localhost")], server.ServerNames);
        Assert.True(json.RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal(_enclave.ModuleId, json.RootElement.GetProperty("module_id").GetString());
    }

    [Fact]
    public async Task A_given_nonce_the_server_ignores_exits_1_with_the_reason()
    {
        using var certificate = _enclave.Certificate();
        await using var server = new TestTlsServer(certificate);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--nonce", "0a0b0c");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("cloister: attestation refused: NonceMismatch: ", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(NonceHostName.Format([0x0a, 0x0b, 0x0c], "localhost"), server.ServerNames.Single());
    }

    [Fact]
    public async Task Wrong_pcrs_exit_1_with_the_document_reason_and_json_says_so()
    {
        using var certificate = _enclave.Certificate();
        await using var server = new TestTlsServer(certificate);
        var wrong = WriteMeasurements("wrong.json", new Dictionary<int, byte[]> { [0] = _enclave.Pcrs[0], [1] = _enclave.Pcrs[2] });

        var table = CliRunner.Run("attest", Address(server), "--pcrs", wrong, "--root", _rootPem);
        var json = CliRunner.Run("attest", Address(server), "--pcrs", wrong, "--root", _rootPem, "--json");

        Assert.Equal(1, table.ExitCode);
        Assert.Empty(table.Stdout);
        Assert.StartsWith("cloister: attestation refused: DocumentInvalid (PcrMismatch): PCR1", table.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        using var result = JsonDocument.Parse(json.Stdout);
        Assert.False(result.RootElement.GetProperty("valid").GetBoolean());
        Assert.Equal("DocumentInvalid", result.RootElement.GetProperty("failure").GetString());
        Assert.Equal("PcrMismatch", result.RootElement.GetProperty("document_failure").GetString());
    }

    [Fact]
    public async Task Without_the_simulated_root_a_simulated_enclave_is_an_untrusted_root()
    {
        using var certificate = _enclave.Certificate();
        await using var server = new TestTlsServer(certificate);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("DocumentInvalid (UntrustedRoot)", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forgery_with_a_stolen_document_exits_1_key_binding_mismatch()
    {
        using var forgery = _enclave.ForgeryWithStolenDocument();
        await using var server = new TestTlsServer(forgery);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("cloister: attestation refused: KeyBindingMismatch: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_ca_mode_a_certificate_from_another_ca_exits_1_and_the_right_ca_passes()
    {
        using var deployment = TestCertificateAuthority.Create("CN=deployment ca", DateTimeOffset.UtcNow);
        using var other = TestCertificateAuthority.Create("CN=other ca", DateTimeOffset.UtcNow);
        using var certificate = _enclave.Certificate(issuer: deployment.Certificate);
        await using var server = new TestTlsServer(certificate);

        var right = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--ca", Write("ca.pem", deployment.Pem()));
        var wrong = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--ca", Write("other.pem", other.Pem()));

        Assert.True(right.ExitCode == 0, right.ToString());
        Assert.Contains("CertificateAuthority (CN=deployment ca)", right.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, wrong.ExitCode);
        Assert.StartsWith("cloister: attestation refused: CertificateChainInvalid: ", wrong.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ca_mode_accepts_a_provisioned_chain_and_refuses_a_leaf_outside_its_name_constraints()
    {
        var now = DateTimeOffset.UtcNow;
        using var root = TestCertificateAuthority.Create("CN=provisioner root", now);
        using var deployment = TestCertificateAuthority.Deployment(root, now, "localhost");
        using var elsewhere = TestCertificateAuthority.Deployment(root, now, "app.example.test");
        using var inside = _enclave.Certificate(issuer: deployment.Certificate);
        using var outside = _enclave.Certificate(issuer: elsewhere.Certificate);
        using var deploymentPublic = deployment.PublicCertificate();
        using var elsewherePublic = elsewhere.PublicCertificate();
        await using var good = new TestTlsServer(serverName =>
            (NonceHostName.TryParse(serverName, out var nonce, out _) ? _enclave.Certificate(nonce, deployment.Certificate) : inside, [deploymentPublic]));
        await using var bad = new TestTlsServer(_ => (outside, [elsewherePublic]));
        var rootCa = Write("root-ca.pem", root.Pem());

        var accepted = CliRunner.Run("attest", Address(good), "--pcrs", _measurements, "--root", _rootPem, "--ca", rootCa, "--nonce");
        var refused = CliRunner.Run("attest", Address(bad), "--pcrs", _measurements, "--root", _rootPem, "--ca", rootCa, "--json");
        var standalone = CliRunner.Run("attest", Address(good), "--pcrs", _measurements, "--root", _rootPem);

        Assert.True(accepted.ExitCode == 0, accepted.ToString());
        Assert.Contains("CertificateAuthority (CN=provisioner root)", accepted.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(
            "cloister: attestation refused: NameConstraintViolation: host: 'localhost' is in none of the permitted dNSName subtrees 'app.example.test': "
            + "the name constraints of 'CN=deployment intermediate' (an intermediate)" + Environment.NewLine,
            refused.Stderr);
        using var json = JsonDocument.Parse(refused.Stdout);
        Assert.Equal("NameConstraintViolation", json.RootElement.GetProperty("failure").GetString());
        Assert.Equal(1, standalone.ExitCode);
        Assert.StartsWith("cloister: attestation refused: CertificateChainInvalid: 'CN=localhost' is issued by 'CN=deployment intermediate', not self-signed", standalone.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ca_file_that_is_not_a_pem_certificate_or_too_large_is_one_line_before_connecting()
    {
        var noPem = CliRunner.Run("attest", "https://localhost:1", "--pcrs", _measurements, "--ca", Write("notes.txt", "not a certificate\n"));
        var notDer = CliRunner.Run(
            "attest", "https://localhost:1", "--pcrs", _measurements,
            "--ca", Write("bad.pem", $"-----BEGIN CERTIFICATE-----\n{Convert.ToBase64String("not DER at all"u8)}\n-----END CERTIFICATE-----\n"));
        var endless = CliRunner.Run("attest", "https://localhost:1", "--pcrs", _measurements, "--ca", "/dev/zero");

        Assert.True(noPem.ExitCode == 2, noPem.ToString());
        Assert.Equal($"cloister: --ca notes.txt: no certificate in the PEM file{Environment.NewLine}", noPem.Stderr);
        Assert.True(notDer.ExitCode == 2, notDer.ToString());
        Assert.StartsWith("cloister: --ca bad.pem: not a PEM certificate: ", notDer.Stderr, StringComparison.Ordinal);
        Assert.Single(notDer.Stderr.TrimEnd().Split('\n'));
        Assert.True(endless.ExitCode == 1, endless.ToString());
        Assert.Equal($"cloister: --ca /dev/zero: larger than the 1 MiB limit for it{Environment.NewLine}", endless.Stderr);
        Assert.All(new[] { noPem, notDer, endless }, r => Assert.Empty(r.Stdout));
    }

    [Fact]
    public void An_unreachable_server_or_plain_http_exits_1_without_a_stack_trace()
    {
        var unreachable = CliRunner.Run("attest", "https://127.0.0.1:1", "--pcrs", _measurements);
        var plaintext = CliRunner.Run("attest", "http://127.0.0.1:1", "--pcrs", _measurements);

        Assert.Equal(1, unreachable.ExitCode);
        Assert.StartsWith("cloister: cannot connect to 127.0.0.1:1: ", unreachable.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unreachable.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, plaintext.ExitCode);
        Assert.StartsWith("cloister: attestation refused: NotTls: ", plaintext.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_accepts_and_never_speaks_exits_1_naming_the_tls_handshake()
    {
        using var listener = StalledListener.Silent();

        var result = CliRunner.Run("attest", $"https://localhost:{listener.Port}", "--pcrs", _measurements, "--connect-timeout", "1s");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"cloister: the TLS handshake with localhost:{listener.Port} timed out after 1 s (--connect-timeout){Environment.NewLine}", result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Get_streams_an_endless_body_and_max_body_bytes_stops_it_at_the_limit()
    {
        await using var server = Serve(RawResponses.Endless);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--get", "/", "--max-body-bytes", "1000000");

        Assert.Equal(1, result.ExitCode);
        Assert.EndsWith("\n" + new string('x', 1_000_000), result.Stdout, StringComparison.Ordinal);
        Assert.Equal($"cloister: GET /: the body exceeds --max-body-bytes 1000000; stopped after printing that many bytes{Environment.NewLine}", result.Stderr);
    }

    [Fact]
    public async Task Get_of_an_endless_body_prints_what_arrives_until_max_time()
    {
        await using var server = Serve(RawResponses.Endless);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--get", "/", "--max-time", "5s");

        // The server never finishes: whatever of the body is on stdout was streamed, and the message says how much.
        Assert.Equal(1, result.ExitCode);
        var printed = result.Stdout.Length - result.Stdout.TrimEnd('x').Length;
        Assert.Contains(
            result.Stderr,
            new[] { $"during GET /, after {printed} bytes of the body", $"while attesting localhost:{server.Port}" }
                .Select(when => $"cloister: --max-time 5s reached {when}{Environment.NewLine}"));
    }

    [Fact]
    public async Task Get_of_a_body_that_stalls_exits_1_naming_the_read_and_keeps_what_came()
    {
        await using var server = Serve(RawResponses.StallingBody("partial"));

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--get", "/", "--timeout", "1s");

        Assert.Equal(1, result.ExitCode);
        Assert.EndsWith("\npartial", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(
            $"cloister: reading the response body from localhost:{server.Port} stalled: no data for 1 s (--timeout); 7 bytes of the body were printed{Environment.NewLine}",
            result.Stderr);
    }

    [Fact]
    public async Task Get_of_a_server_that_never_answers_exits_1_naming_the_headers()
    {
        await using var server = Serve(RawResponses.Silent);

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--get", "/", "--timeout", "1s");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"cloister: waiting for the response headers from localhost:{server.Port} timed out after 1 s (--timeout){Environment.NewLine}", result.Stderr);
    }

    [Fact]
    public async Task Get_refuses_endless_headers_and_an_announced_body_over_the_limit()
    {
        await using var headers = Serve(RawResponses.EndlessHeaders);
        using var certificate = _enclave.Certificate();
        await using var large = new TestTlsServer(certificate) { Respond = (_, _) => (200, "text/plain", new string('y', 5000)) };

        var endless = CliRunner.Run("attest", Address(headers), "--pcrs", _measurements, "--root", _rootPem, "--get", "/");
        var announced = CliRunner.Run("attest", Address(large), "--pcrs", _measurements, "--root", _rootPem, "--get", "/", "--max-body-bytes", "100");

        Assert.Equal(1, endless.ExitCode);
        Assert.StartsWith("cloister: GET / failed: ", endless.Stderr, StringComparison.Ordinal);
        Assert.Contains("65536", endless.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, announced.ExitCode);
        Assert.DoesNotContain("yyyy", announced.Stdout, StringComparison.Ordinal);
        Assert.Equal($"cloister: GET /: the body is 5000 bytes, more than --max-body-bytes 100; nothing printed{Environment.NewLine}", announced.Stderr);
    }

    [Fact]
    public async Task What_a_server_says_reaches_the_terminal_escaped()
    {
        await using var server = Serve((_, tls, stop) => tls.WriteAsync("HTTP/1.1 503 \u001b[31mdown\u001b]0;owned\u0007\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), stop).AsTask());

        var result = CliRunner.Run("attest", Address(server), "--pcrs", _measurements, "--root", _rootPem, "--get", "/");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"cloister: GET / over the attested connection answered 503 \\x1b[31mdown\\x1b]0;owned\\x07{Environment.NewLine}", result.Stderr);
    }

    [Theory]
    [InlineData("attest", "https://localhost:4433")]
    [InlineData("attest", "localhost:4433", "--pcrs", "MEASUREMENTS")]
    [InlineData("attest", "ftp://localhost", "--pcrs", "MEASUREMENTS")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--max-age", "soon")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--nonce", "xyz")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--root", "/nonexistent/root.pem")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--ca", "/nonexistent/root-ca.pem")]
    [InlineData("attest", "https://localhost", "--pcrs", "/nonexistent/measurements.json")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--connect-timeout", "soon")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--timeout", "0s")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--max-time", "-1s")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--get", "/", "--max-body-bytes", "0")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--max-body-bytes", "10")]
    [InlineData("attest", "https://localhost", "--pcrs", "MEASUREMENTS", "--get", "/", "--max-body-bytes", "lots")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var result = CliRunner.Run([.. args.Select(a => a == "MEASUREMENTS" ? _measurements : a)]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("cloister: ", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    public void Dispose()
    {
        _enclave.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static string Address(TestTlsServer server) => $"https://localhost:{server.Port}";

    /// <summary>The enclave's certificate, and <paramref name="respond"/> for every request.</summary>
    private TestTlsServer Serve(Func<string, Stream, CancellationToken, Task> respond) => new(_enclave.Certificate()) { RespondRaw = respond };

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private string WriteMeasurements(string name, IReadOnlyDictionary<int, byte[]> pcrs, string? hashAlgorithm = null)
    {
        var measurements = new Dictionary<string, string>();
        if (hashAlgorithm is not null)
        {
            measurements["HashAlgorithm"] = hashAlgorithm;
        }

        foreach (var (index, value) in pcrs)
        {
            measurements[$"PCR{index}"] = Convert.ToHexStringLower(value);
        }

        return Write(name, JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, string>> { ["Measurements"] = measurements }));
    }
}
