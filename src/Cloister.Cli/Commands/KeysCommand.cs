using System.CommandLine;
using System.Globalization;
using System.Text;
using Cloister.Build.Streams;
using Cloister.Cli.Provisioning;
using Cloister.Encryption.Keys;
using Cloister.Provisioner.Api;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister keys show|rotate</c>: a deployment's encryption keys as the operator sees them, public halves only (the
/// provisioner never gives an operator a private or data key). <c>show --output</c> writes the file
/// <c>cloister encrypt --public-key</c> reads.
/// </summary>
internal static class KeysCommand
{
    public static Command Create() => new("keys", "Show or rotate a deployment's encryption keys (public halves only).")
    {
        CreateShow(),
        CreateRotate(),
    };

    private static Command CreateShow()
    {
        var deployment = DeploymentArgument();
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Also write the current public key's file here (what `cloister encrypt --public-key` reads); replaced if it exists." };
        var command = new Command("show", "Print the deployment's key id, its current public key (PEM) and fingerprint, and every version.") { deployment, output };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var name = OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment));
            using var client = operatorOptions.Connect(parseResult);
            var path = $"/v1/deployments/{OperatorOptions.Segment(name)}/keys";
            var view = await client.SendAsync(HttpMethod.Get, path, content: null, OperatorJson.Default.DeploymentKeysView, cancellationToken);
            var keys = ProvisionerKeys.Check(view, name);
            var current = keys[^1];
            var text = new StringBuilder();
            TerminalText.AppendRow(text, "deployment", name);
            TerminalText.AppendRow(text, "key id", current.KeyId.ToString());
            TerminalText.AppendRow(text, "version", string.Create(CultureInfo.InvariantCulture, $"{current.Version} (current)"));
            TerminalText.AppendRow(text, "fingerprint", current.Fingerprint);
            text.Append(current.ToPem()).AppendLine().AppendLine();
            var times = view.Versions.OrderBy(version => version.Version).Select(version => AttestationText.FormatTime(version.CreatedAt)).ToList();
            var timeWidth = times.Max(time => time.Length);
            text.Append("VERSION  ").Append("CREATED".PadRight(timeWidth)).AppendLine("  FINGERPRINT");
            foreach (var (key, created) in keys.Zip(times))
            {
                text.Append(key.Version.ToString(CultureInfo.InvariantCulture).PadRight("VERSION".Length))
                    .Append("  ").Append(created.PadRight(timeWidth)).Append("  ").AppendLine(key.Fingerprint);
            }

            if (parseResult.GetValue(output) is { } file)
            {
                var json = current.ToJson();
                AtomicFile.Write(file.FullName, stream =>
                {
                    stream.Write(json);
                    return json.Length;
                });
                text.AppendLine(TerminalText.Escape($"wrote the public key of version {current.Version} to {file.FullName}"));
            }

            Console.Out.Write(text.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateRotate()
    {
        var deployment = DeploymentArgument();
        var command = new Command(
            "rotate",
            "Make a new key version: new ciphertexts use it; older ones still decrypt. Enclaves already running receive it when they are provisioned again (restarted).")
        {
            deployment,
        };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var name = OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment));
            using var client = operatorOptions.Connect(parseResult);
            var path = $"/v1/deployments/{OperatorOptions.Segment(name)}/keys/rotate";
            var current = ProvisionerKeys.Check(await client.SendAsync(HttpMethod.Post, path, content: null, OperatorJson.Default.DeploymentKeysView, cancellationToken), name)[^1];
            Console.Out.WriteLine(TerminalText.Escape(string.Create(
                CultureInfo.InvariantCulture,
                $"rotated the keys of {name}: version {current.Version}, fingerprint {current.Fingerprint}. New ciphertexts use it; older ones still decrypt. Enclaves already running hold it once provisioned again (restarted).")));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Argument<string> DeploymentArgument() => new("deployment") { Description = "The deployment." };
}
