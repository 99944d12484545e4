using System.CommandLine;
using System.Globalization;
using System.Text;
using Cloister.Cli.Provisioning;
using Cloister.Provisioner.Api;
using Cloister.Provisioner.Identity;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister deploy --deployment D --measurements measurements.json [--hostname H]… [--add|--replace] [--allow-debug]</c>:
/// tells the provisioner which measurements may receive deployment D's CA and secrets (<c>PUT /v1/deployments/D</c>)
/// and prints the deployment as it now stands.
/// </summary>
internal static class DeployCommand
{
    // What `cloister build` and nitro-cli measure: the image, the kernel and boot ramdisk, the user ramdisk, and the
    // signing certificate when the image is signed. A set without PCR0-2 would admit enclaves it does not describe.
    private static readonly int[] s_required = [0, 1, 2];
    private static readonly int[] s_optional = [8];

    public static Command Create()
    {
        var deployment = new Option<string>("--deployment") { Description = "The deployment's name (the manifest's provisioning.token_audience).", Required = true };
        var measurements = new Option<FileInfo>("--measurements")
        {
            Description = "The measurements JSON `cloister build` wrote ({\"Measurements\": {\"PCR0\": …}}): PCR0, PCR1, PCR2 and PCR8 if present become one allowed set.",
            Required = true,
        };
        var hostnames = new Option<string[]>("--hostname")
        {
            Description = "A hostname the deployment's CA may issue for (repeat for several): required for a new deployment; a different list later replaces them and makes a new CA.",
            AllowMultipleArgumentsPerToken = false,
        };
        var add = new Option<bool>("--add") { Description = "Add this set to the deployment's allowed sets, keeping the others (rolling deploy; the default)." };
        var replace = new Option<bool>("--replace") { Description = "Make this set the only allowed one." };
        var allowDebug = new Option<bool>("--allow-debug")
        {
            Description = "Accept debug-mode enclaves (PCR0 all zeros, whose measurements prove nothing); `--allow-debug false` refuses them again. Unchanged when absent (refused for a new deployment).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("deploy", "Allow an image's measurements to be provisioned for a deployment.") { deployment, measurements, hostnames, add, replace, allowDebug };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(add) && parseResult.GetValue(replace))
            {
                throw CommandFailedException.Usage("give --add or --replace, not both");
            }

            var name = OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment));
            var update = new DeploymentRequest
            {
                Hostnames = parseResult.GetValue(hostnames) is { Length: > 0 } given ? given.Select(CheckHostname).ToArray() : null,
                PcrSet = ReadPcrSet(parseResult.GetRequiredValue(measurements)),
                Replace = parseResult.GetValue(replace),
                AllowDebug = parseResult.GetResult(allowDebug) is { Implicit: false } ? parseResult.GetValue(allowDebug) : null,
            };
            using var client = operatorOptions.Connect(parseResult);
            var answer = await client.SendJsonAsync(
                HttpMethod.Put, $"/v1/deployments/{OperatorOptions.Segment(name)}", update, OperatorJson.Default.DeploymentRequest, OperatorJson.Default.DeploymentView, cancellationToken);
            Console.Out.Write(Describe(answer));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string CheckHostname(string hostname) =>
        Names.IsHostname(hostname)
            ? hostname
            : throw CommandFailedException.Usage($"--hostname: '{hostname}' is not a lowercase DNS name of at least two labels");

    private static Dictionary<string, string> ReadPcrSet(FileInfo file)
    {
        var pcrs = AttestationText.ReadMeasurements(file, "--measurements");
        if (s_required.FirstOrDefault(index => !pcrs.ContainsKey(index), -1) is var missing and >= 0)
        {
            throw CommandFailedException.Usage($"--measurements {file.Name}: no PCR{missing}; a deployment's set needs PCR0, PCR1 and PCR2");
        }

        if (pcrs.Keys.FirstOrDefault(index => !s_required.Contains(index) && !s_optional.Contains(index), -1) is var other and >= 0)
        {
            throw CommandFailedException.Usage($"--measurements {file.Name}: PCR{other} is not one an image build measures (PCR0, PCR1, PCR2, PCR8)");
        }

        return pcrs.OrderBy(pcr => pcr.Key).ToDictionary(pcr => string.Create(CultureInfo.InvariantCulture, $"PCR{pcr.Key}"), pcr => Convert.ToHexStringLower(pcr.Value));
    }

    private static string Describe(DeploymentView deployment)
    {
        var table = new StringBuilder();
        void Row(string name, string value) => TerminalText.AppendRow(table, name, value);
        Row("deployment", deployment.Name);
        Row("hostnames", deployment.Hostnames.Count == 0 ? "(none)" : string.Join(", ", deployment.Hostnames));
        Row("allow debug", deployment.AllowDebug ? "YES: debug-mode enclaves are provisioned" : "no");
        Row("pcr sets", deployment.PcrSets.Count.ToString(CultureInfo.InvariantCulture));
        for (var i = 0; i < deployment.PcrSets.Count; i++)
        {
            var first = true;
            foreach (var (pcr, value) in deployment.PcrSets[i].OrderBy(pcr => pcr.Key, StringComparer.Ordinal))
            {
                Row(first ? string.Create(CultureInfo.InvariantCulture, $"set {i + 1}") : "", $"{pcr,-5} {value}");
                first = false;
            }
        }

        return table.ToString();
    }
}
