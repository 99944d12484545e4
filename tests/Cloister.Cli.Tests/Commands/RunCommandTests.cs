using Cloister.Build.RuntimeBundles;
using System.Diagnostics;
using System.Runtime.Versioning;
using Cloister.Host.Tests.TestEnclave;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Commands;

/// <summary>
/// <c>cloister run</c> as a user runs it, on this machine (no Nitro device: the simulator, in bubblewrap). The enclave is
/// the test enclave (a busybox script speaking the host protocol), not the Cloister supervisor.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RunCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("clirun-").FullName;

    private string SimRoot => Path.Combine(_directory, "sim");

    [Fact]
    public async Task The_app_exit_code_becomes_the_exit_code_of_cloister_run()
    {
        ExternalTool.Require("bwrap", "bubblewrap");
        var build = await TestEnclaveImage.BuildAsync(Path.Combine(_directory, "out"), "exit", "3");

        // A build output directory names its single EIF.
        var result = CliRunner.Run("run", Path.GetDirectoryName(build.ImagePath)!, "--sim-root", SimRoot);

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Contains("exiting with 3", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("cloister: running in the simulator (no /dev/nitro_enclaves on this machine)", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("cloister: app exited with code 3", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("created the simulated root", result.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(SimRoot, "root.pem")));
    }

    [Fact]
    public async Task SIGTERM_stops_the_enclave_gracefully_and_the_clean_exit_is_ours()
    {
        ExternalTool.Require("bwrap", "bubblewrap");
        var build = await TestEnclaveImage.BuildAsync(Path.Combine(_directory, "out"), "serve", "6000");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "cloister.dll"), "run", build.ImagePath, "--simulate", "--sim-root", SimRoot, "--publish", $"0:{TestEnclaveImage.IngressPort}" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            stderr.Add(line);
            if (line == "cloister: enclave ready")
            {
                ExternalTool.Run("kill", "procps", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        await process.WaitForExitAsync(timeout.Token);
        var transcript = $"--- stdout\n{await stdout}\n--- stderr\n{string.Join('\n', stderr)}";
        Assert.True(process.ExitCode == 0, transcript);
        Assert.Contains("got SIGTERM", await stdout, StringComparison.Ordinal);
        Assert.Contains(stderr, line => line.StartsWith("cloister: stopping: the app gets SIGTERM", StringComparison.Ordinal));
        Assert.DoesNotContain(stderr, line => line.Contains("ended by force", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_real_supervisor_bundle_starts_inside_the_sandbox()
    {
        ExternalTool.Require("bwrap", "bubblewrap");
        // The runtime `cloister build` adds, carried beside cloister.dll.
        using var runtime = RuntimeBundle.Read(Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName));
        var build = await TestEnclaveImage.BuildWithSupervisorAsync(Path.Combine(_directory, "out"), runtime, "exit", "0");

        var result = CliRunner.Run("run", build.ImagePath, "--sim-root", SimRoot, "--grace-period", "1");

        // Its own loader and libraries ran it from the unpacked ramdisk with the ramdisk's env: it either speaks the host
        // protocol or, before the supervisor learns it, answers its usage line (exit 2) on the console.
        Assert.True(
            result.Stderr.Contains("console: usage: cloister-enclave", StringComparison.Ordinal) || result.Stderr.Contains("cloister: enclave booting", StringComparison.Ordinal),
            result.ToString());
    }

    [Fact]
    public async Task A_corrupt_image_is_refused_with_exit_code_1()
    {
        var build = await TestEnclaveImage.BuildAsync(Path.Combine(_directory, "out"), "exit", "0");
        var bytes = File.ReadAllBytes(build.ImagePath);
        bytes[^3] ^= 0x01;
        File.WriteAllBytes(build.ImagePath, bytes);

        var result = CliRunner.Run("run", build.ImagePath, "--sim-root", SimRoot);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("CRC", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_without_exactly_one_image_is_a_usage_error()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_directory, "empty")).FullName;
        var result = CliRunner.Run("run", empty, "--sim-root", SimRoot);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("holds no .eif file", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_publish_option_is_a_usage_error()
    {
        var result = CliRunner.Run("run", _directory, "--publish", "80");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("expected HOSTPORT:PORT", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--egress-idle-timeout", "-5", "--egress-idle-timeout must be 1–86400 seconds, or 0 for none")]
    [InlineData("--egress-idle-timeout", "86401", "--egress-idle-timeout must be 1–86400 seconds, or 0 for none")]
    [InlineData("--egress-max-tunnels", "0", "--egress-max-tunnels must be 1–65536")]
    public void An_egress_limit_out_of_range_is_a_usage_error(string option, string value, string message)
    {
        var result = CliRunner.Run("run", _directory, option, value);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--provisioner https://p.example:8443", "--provisioner needs --provisioner-credentials")]
    [InlineData("--provisioner-credentials host.json --provisioner http://p.example", "--provisioner 'http://p.example' is not an https:// URL")]
    public void Bad_provisioning_options_are_usage_errors(string options, string message)
    {
        var result = CliRunner.Run(new[] { "run", _directory }.Concat(options.Split(' ')).ToArray());

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
