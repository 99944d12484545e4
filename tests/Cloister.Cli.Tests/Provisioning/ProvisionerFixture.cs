using System.Globalization;
using System.Runtime.Versioning;
using Cloister.Attestation.Simulation;
using Cloister.Host.Simulation;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Provisioning;

/// <summary>
/// One provisioner for a test class, made as an operator makes it: <c>cloister provisioner init DIR</c>, then
/// <c>cloister provisioner serve DIR</c> on 127.0.0.1 port 0, trusting a simulated Nitro root for documents.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ProvisionerFixture : IDisposable
{
    private readonly TempRunDirectory _directory = new();

    public ProvisionerFixture()
    {
        // Kept as the simulator keeps it, so `cloister run --sim-root` signs with the root the provisioner trusts.
        SimRoot = Path.Combine(_directory.Path, "sim");
        Root = SimulatedRootStore.LoadOrCreate(SimRoot, out _);
        RootPem = Path.Combine(SimRoot, SimulatedRootStore.CertificateFileName);
        Init = CliRunner.Run("provisioner", "init", Directory, "--url", "https://127.0.0.1:1");
        Assert.True(Init.ExitCode == 0, Init.ToString());
        Server = ProvisionerProcess.Start(Directory, "--attestation-root", RootPem);
    }

    /// <summary>The provisioner's directory.</summary>
    public string Directory => Path.Combine(_directory.Path, "provisioner");

    public string Scratch => _directory.Path;

    /// <summary>What <c>init</c> printed.</summary>
    internal ProcessResult Init { get; }

    public SimulatedNitroRoot Root { get; }

    /// <summary>The simulated root's directory, for <c>cloister run --sim-root</c>.</summary>
    public string SimRoot { get; }

    public string RootPem { get; }

    internal ProvisionerProcess Server { get; }

    public string OperatorCredentials => Path.Combine(Directory, "operator.json");

    /// <summary>Runs an operator command against this provisioner, credentials from the environment, the URL from <c>--provisioner</c>.</summary>
    internal ProcessResult Operator(params string[] args) =>
        CliRunner.Run(Environment(), [.. args, "--provisioner", Server.Url.ToString()]);

    /// <summary>Runs an operator command with <paramref name="stdin"/> as its standard input.</summary>
    internal ProcessResult Operator(byte[] stdin, params string[] args) =>
        CliRunner.RunWithInput(stdin, Environment(), [.. args, "--provisioner", Server.Url.ToString()]);

    public Dictionary<string, string> Environment() => new() { ["CLOISTER_CREDENTIALS"] = OperatorCredentials };

    /// <summary>Writes a measurements file as <c>cloister build</c> does, with <paramref name="seed"/> making its PCRs distinct.</summary>
    public string Measurements(string name, byte seed)
    {
        var path = Path.Combine(_directory.Path, name);
        string Pcr(int index) => Convert.ToHexStringLower(Enumerable.Repeat((byte)(seed + index), 48).ToArray());
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture,
            $$$"""{"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "{{{Pcr(0)}}}", "PCR1": "{{{Pcr(1)}}}", "PCR2": "{{{Pcr(2)}}}"}}"""));
        return path;
    }

    public void Dispose()
    {
        Server.Dispose();
        Root.Dispose();
        _directory.Dispose();
    }
}
