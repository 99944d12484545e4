using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary>
/// The operator's commands as an operator runs them, against a real provisioner process: init, serve, deploy,
/// secrets, hosts, audit; and every way they must refuse with one line.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ProvisioningCommandsTests(ProvisionerFixture provisioner) : IClassFixture<ProvisionerFixture>
{
    private const string SecretValue = "s3cr3t-Value-that-must-never-be-printed";

    [Fact]
    public void Init_prints_the_pin_of_the_key_serve_presents_and_where_the_operator_files_are()
    {
        var pin = PinLine().Match(provisioner.Init.Stdout);

        Assert.True(pin.Success, provisioner.Init.ToString());
        var credentials = ProvisionerCredentials.Read(provisioner.OperatorCredentials);
        Assert.Equal(credentials.PinnedSha256, pin.Groups[1].Value);
        Assert.Contains(provisioner.OperatorCredentials, provisioner.Init.Stdout, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(provisioner.Directory, "root-ca.pem"), provisioner.Init.Stdout, StringComparison.Ordinal);
        // The pin is the running server's key: an operator command through that pin succeeds.
        var list = provisioner.Operator("provisioner", "audit", "--limit", "1");
        Assert.True(list.ExitCode == 0, list.ToString());
    }

    [Fact]
    public void Init_refuses_a_directory_that_already_holds_a_provisioner()
    {
        var result = CliRunner.Run("provisioner", "init", provisioner.Directory);

        CliAssert.OneLineError(result, 2, provisioner.Directory);
    }

    [Theory]
    [InlineData("--trust-simulator --attestation-root ROOT", "--trust-simulator and --attestation-root")]
    [InlineData("--sim-root /tmp", "--sim-root is for --trust-simulator")]
    public void Serve_takes_one_trusted_root_for_documents(string options, string expected)
    {
        var result = CliRunner.Run(["provisioner", "serve", provisioner.Directory, "--listen", "127.0.0.1:0", .. options.Replace("ROOT", provisioner.RootPem, StringComparison.Ordinal).Split(' ')]);

        CliAssert.OneLineError(result, 2, expected);
    }

    [Fact]
    public void Deploy_adds_and_replaces_pcr_sets_and_prints_them()
    {
        var first = provisioner.Measurements("first.json", 0x10);
        var second = provisioner.Measurements("second.json", 0x20);

        var created = provisioner.Operator("deploy", "--deployment", "web", "--measurements", first, "--hostname", "web.example.com");
        var added = provisioner.Operator("deploy", "--deployment", "web", "--measurements", second, "--add");
        var replaced = provisioner.Operator("deploy", "--deployment", "web", "--measurements", second, "--replace");

        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Matches(@"pcr sets\s+1\n", created.Stdout);
        Assert.Contains("web.example.com", created.Stdout, StringComparison.Ordinal);
        Assert.Contains(Hex(0x10), created.Stdout, StringComparison.Ordinal);
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Matches(@"pcr sets\s+2\n", added.Stdout);
        Assert.Contains(Hex(0x10), added.Stdout, StringComparison.Ordinal);
        Assert.Contains(Hex(0x20), added.Stdout, StringComparison.Ordinal);
        Assert.True(replaced.ExitCode == 0, replaced.ToString());
        Assert.Matches(@"pcr sets\s+1\n", replaced.Stdout);
        Assert.DoesNotContain(Hex(0x10), replaced.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"allow debug\s+no\n", replaced.Stdout);
    }

    [Fact]
    public void Deploy_refuses_measurements_without_pcr2_before_any_request()
    {
        var measurements = Path.Combine(provisioner.Scratch, "two-pcrs.json");
        File.WriteAllText(measurements, $$$"""{"Measurements": {"PCR0": "{{{Hex(1)}}}", "PCR1": "{{{Hex(2)}}}"}}""");

        var result = CliRunner.Run("deploy", "--deployment", "web", "--measurements", measurements, "--credentials", provisioner.OperatorCredentials, "--provisioner", "https://127.0.0.1:1");

        CliAssert.OneLineError(result, 2, "no PCR2");
    }

    [Fact]
    public void Deploy_sets_and_clears_allow_debug()
    {
        var measurements = provisioner.Measurements("debug.json", 0x40);

        var allowed = provisioner.Operator("deploy", "--deployment", "debuggable", "--measurements", measurements, "--hostname", "debug.example.com", "--allow-debug");
        var unchanged = provisioner.Operator("deploy", "--deployment", "debuggable", "--measurements", measurements);
        var cleared = provisioner.Operator("deploy", "--deployment", "debuggable", "--measurements", measurements, "--allow-debug", "false");

        Assert.Matches(@"allow debug\s+YES", allowed.Stdout);
        Assert.Matches(@"allow debug\s+YES", unchanged.Stdout);
        Assert.Matches(@"allow debug\s+no\n", cleared.Stdout);
    }

    [Fact]
    public void Secrets_are_set_from_stdin_listed_without_values_removed_and_audited_without_values()
    {
        Deploy("api");

        var set = provisioner.Operator(Encoding.UTF8.GetBytes(SecretValue + "\n"), "secrets", "set", "api", "API_KEY");
        var again = provisioner.Operator(Encoding.UTF8.GetBytes(SecretValue + "2"), "secrets", "set", "api", "API_KEY");
        var fromFile = Path.Combine(provisioner.Scratch, "db-password");
        File.WriteAllText(fromFile, SecretValue);
        var setFromFile = provisioner.Operator("secrets", "set", "api", "DB_PASSWORD", "--from-file", fromFile);
        var list = provisioner.Operator("secrets", "list", "api");
        var removed = provisioner.Operator("secrets", "rm", "api", "DB_PASSWORD");
        var listAfter = provisioner.Operator("secrets", "list", "api");
        var removedAgain = provisioner.Operator("secrets", "rm", "api", "DB_PASSWORD");
        var audit = provisioner.Operator("provisioner", "audit", "--limit", "1000");
        var auditJson = provisioner.Operator("provisioner", "audit", "--limit", "1000", "--json");

        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Contains("set API_KEY for api: version 1", set.Stdout, StringComparison.Ordinal);
        Assert.Contains("set API_KEY for api: version 2", again.Stdout, StringComparison.Ordinal);
        Assert.True(setFromFile.ExitCode == 0, setFromFile.ToString());
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"API_KEY\s+2\s+\d{4}-\d\d-\d\dT", list.Stdout);
        Assert.Matches(@"DB_PASSWORD\s+1\s+", list.Stdout);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.DoesNotContain("DB_PASSWORD", listAfter.Stdout, StringComparison.Ordinal);
        Assert.Contains("API_KEY", listAfter.Stdout, StringComparison.Ordinal);
        CliAssert.OneLineError(removedAgain, 1, "404");
        Assert.True(auditJson.ExitCode == 0, auditJson.ToString());
        var entries = JsonDocument.Parse(auditJson.Stdout).RootElement.GetProperty("entries").EnumerateArray()
            .Where(entry => entry.GetProperty("deployment").ValueKind == JsonValueKind.String && entry.GetProperty("deployment").GetString() == "api")
            .Select(entry => entry.GetProperty("action").GetString())
            .ToList();
        Assert.Equal(["deployment.put", "keys.create", "secret.set", "secret.set", "secret.set", "secret.rm"], entries);
        foreach (var output in (ProcessResult[])[set, again, setFromFile, list, removed, listAfter, audit, auditJson])
        {
            Assert.DoesNotContain("s3cr3t", output.Stdout + output.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Host_add_writes_owner_only_credentials_that_the_provisioner_accepts_until_revoked()
    {
        Deploy("hosted");
        var hostFile = Path.Combine(provisioner.Scratch, "host-a.json");

        var added = provisioner.Operator("provisioner", "host", "add", "host-a", "-o", hostFile);
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(hostFile));
        var host = ProvisionerCredentials.Read(hostFile);
        Assert.Equal("host-a", host.Name);
        Assert.Equal(provisioner.Server.Url, host.Provisioner);
        var token = RequestToken(host, "hosted");

        var revoked = provisioner.Operator("provisioner", "host", "revoke", "host-a");
        var afterRevoke = RequestToken(host, "hosted");
        var again = provisioner.Operator("provisioner", "host", "add", "host-b", "-o", hostFile);

        Assert.Equal(200, token);
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        Assert.NotEqual(200, afterRevoke);
        CliAssert.OneLineError(again, 2, "exists");
        var audit = provisioner.Operator("provisioner", "audit", "--limit", "1000");
        Assert.Matches(@"host\.add\s+-\s+host-a\s+done", audit.Stdout);
        Assert.Matches(@"host\.revoke\s+-\s+host-a\s+done", audit.Stdout);
        Assert.Matches(@"token\s+hosted\s+host-a\s+granted", audit.Stdout);
    }

    [Fact]
    public void A_host_certificate_is_not_an_operator_certificate()
    {
        var hostFile = Path.Combine(provisioner.Scratch, "host-c.json");
        Assert.Equal(0, provisioner.Operator("provisioner", "host", "add", "host-c", "-o", hostFile).ExitCode);

        var result = CliRunner.Run("secrets", "list", "api", "--credentials", hostFile);

        CliAssert.OneLineError(result, 1, "403");
    }

    [Fact]
    public void A_secret_value_on_stdin_may_fill_the_limit_with_a_newline_but_not_exceed_it()
    {
        Deploy("big");
        var largest = Enumerable.Repeat((byte)'a', Cloister.Cli.Commands.SecretsCommand.MaxValueSize).ToArray();

        var full = provisioner.Operator([.. largest, .. "\r\n"u8], "secrets", "set", "big", "LARGEST");
        var over = provisioner.Operator([.. largest, (byte)'a'], "secrets", "set", "big", "TOO_LARGE");
        // Past the largest value and a CRLF, stdin is not read further.
        var past = provisioner.Operator([.. largest, .. "aaa"u8], "secrets", "set", "big", "TOO_LARGE");

        Assert.True(full.ExitCode == 0, full.ToString());
        CliAssert.OneLineError(over, 1, "the value is 65537 bytes; a secret holds at most 64 KiB");
        CliAssert.OneLineError(past, 1, "stdin: the value is larger than 64 KiB");
    }

    [Fact]
    public void A_secret_value_cannot_be_given_on_the_command_line()
    {
        var result = CliRunner.Run("secrets", "set", "api", "API_KEY", SecretValue, "--credentials", provisioner.OperatorCredentials);

        CliAssert.OneLineError(result, 2, "never taken from the command line");
        Assert.DoesNotContain(SecretValue, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_credentials_an_operator_command_is_a_usage_error()
    {
        var result = CliRunner.Run(new Dictionary<string, string> { ["CLOISTER_CREDENTIALS"] = "" }, "secrets", "list", "api");

        CliAssert.OneLineError(result, 2, "--credentials");
    }

    [Fact]
    public void A_secret_name_that_is_not_an_environment_variable_name_is_a_usage_error()
    {
        var result = provisioner.Operator(Encoding.UTF8.GetBytes("x"), "secrets", "set", "api", "NOT-A-NAME");

        CliAssert.OneLineError(result, 2, "not a secret name");
    }

    [Fact]
    public void A_value_larger_than_64_KiB_is_refused_before_it_is_sent()
    {
        var result = provisioner.Operator(new byte[(64 << 10) + 10].Select(_ => (byte)'a').ToArray(), "secrets", "set", "api", "BIG");

        CliAssert.OneLineError(result, 1, "larger than 64 KiB");
    }

    [Fact]
    public void A_server_with_another_key_is_refused_and_named_by_its_pin()
    {
        var credentials = ProvisionerCredentials.Read(provisioner.OperatorCredentials);
        var wrongPin = Path.Combine(provisioner.Scratch, $"wrong-pin-{Guid.NewGuid():N}.json");
        new ProvisionerCredentials
        {
            Provisioner = provisioner.Server.Url,
            PinnedSha256 = new string('0', 64),
            Name = credentials.Name,
            Certificate = credentials.Certificate,
            PrivateKey = credentials.PrivateKey,
        }.Write(wrongPin);

        var result = CliRunner.Run("secrets", "list", "api", "--credentials", wrongPin);

        CliAssert.OneLineError(result, 1, $"not the pinned provisioner (its TLS key's SHA-256 is {credentials.PinnedSha256}");
    }

    [Fact]
    public void A_provisioner_that_is_down_is_one_line_and_exit_1()
    {
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var result = CliRunner.Run(provisioner.Environment(), "secrets", "list", "api", "--provisioner", $"https://127.0.0.1:{port}");

        CliAssert.OneLineError(result, 1, "cannot reach the provisioner at 127.0.0.1:");
    }

    [Fact]
    public void A_provisioner_that_never_answers_times_out_with_one_line()
    {
        using var stalled = StalledListener.Silent();

        var result = CliRunner.Run(provisioner.Environment(), "secrets", "list", "api", "--provisioner", $"https://127.0.0.1:{stalled.Port}", "--timeout", "2");

        CliAssert.OneLineError(result, 1, "did not answer within 2s");
    }

    [Fact]
    public void A_provisioner_whose_port_never_completes_a_connect_is_one_line_within_the_connect_timeout()
    {
        using var full = StalledListener.Full();

        var result = CliRunner.Run(provisioner.Environment(), "secrets", "list", "api", "--provisioner", $"https://127.0.0.1:{full.Port}", "--timeout", "60");

        CliAssert.OneLineError(result, 1, "no connection within 10s");
    }

    private void Deploy(string deployment)
    {
        var result = provisioner.Operator("deploy", "--deployment", deployment, "--measurements", provisioner.Measurements($"{deployment}.json", 0x30), "--hostname", $"{deployment}.example.com");
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>The host API's status for a token request with <paramref name="host"/>'s certificate.</summary>
    private static int RequestToken(ProvisionerCredentials host, string deployment)
    {
        using var client = Cloister.Cli.Provisioning.OperatorClient.Create(host, provisioner: null, TimeSpan.FromSeconds(30));
        try
        {
            client.SendJsonAsync(
                HttpMethod.Post, ProvisioningProtocol.TokensPath, new TokenRequest { Deployment = deployment },
                ProvisioningJson.Default.TokenRequest, ProvisioningJson.Default.TokenResponse, CancellationToken.None).GetAwaiter().GetResult();
            return 200;
        }
        catch (CommandFailedException ex) when (StatusInMessage().Match(ex.Message) is { Success: true } status)
        {
            return int.Parse(status.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private static string Hex(byte seed) => Convert.ToHexStringLower(Enumerable.Repeat(seed, 48).ToArray());

    [GeneratedRegex(@"provisioning\.pinned_sha256:\s*""?([0-9a-f]{64})")]
    private static partial Regex PinLine();

    [GeneratedRegex(@"the provisioner answered (\d{3})")]
    private static partial Regex StatusInMessage();
}
