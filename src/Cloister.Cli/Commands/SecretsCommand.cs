using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;
using Cloister.Cli.Provisioning;
using Cloister.Provisioner.Api;
using Cloister.Provisioner.Identity;
using Cloister.Runtime.Files;

namespace Cloister.Cli.Commands;

/// <summary>
/// <c>cloister secrets set|list|rm</c>: a deployment's secrets, which provisioned enclaves receive as environment
/// variables. A value is read from stdin or <c>--from-file</c>, never from the command line (where <c>ps</c>, shell
/// history and audit logs would see it), and no command ever prints one.
/// </summary>
internal static class SecretsCommand
{
    /// <summary>The largest value the provisioner stores (docs/provisioning.md).</summary>
    public const int MaxValueSize = 64 << 10;

    public static Command Create() => new("secrets", "Set, list and remove a deployment's secrets (its enclaves' environment).")
    {
        CreateSet(),
        CreateList(),
        CreateRemove(),
    };

    private static Command CreateSet()
    {
        var (deployment, name) = (DeploymentArgument(), NameArgument());
        // Only to refuse, with a message that does not repeat it: a value on the command line is already in the shell's history and in `ps`.
        var misplaced = new Argument<string[]>("value") { Hidden = true, Arity = ArgumentArity.ZeroOrMore };
        var fromFile = new Option<FileInfo?>("--from-file") { Description = $"Read the value from this file instead of stdin (at most {MaxValueSize / 1024} KiB)." };
        var command = new Command(
            "set",
            "Set a secret; the value is read from stdin (or --from-file), never from the command line. One trailing newline is dropped, so `echo` and files that end in one give the value without it.")
        {
            deployment, name, misplaced, fromFile,
        };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(misplaced) is { Length: > 0 })
            {
                throw CommandFailedException.Usage("a secret's value is never taken from the command line (shell history, ps); pipe it on stdin or use --from-file FILE");
            }

            var (deploymentName, secretName) = (OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment)), CheckName(parseResult.GetRequiredValue(name)));
            var credentials = operatorOptions.ReadCredentials(parseResult);
            var value = parseResult.GetValue(fromFile) is { } file ? ReadFile(file) : await ReadStdinAsync(cancellationToken);
            var body = Value(value);
            SecretVersion answer;
            try
            {
                using var client = operatorOptions.Connect(parseResult, credentials);
                using var content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
                answer = await client.SendAsync(HttpMethod.Put, SecretPath(deploymentName, secretName), content, OperatorJson.Default.SecretVersion, cancellationToken);
            }
            finally
            {
                // The value's copies this process made are wiped once sent (what the runtime buffered is out of reach).
                CryptographicOperations.ZeroMemory(value);
                CryptographicOperations.ZeroMemory(body);
            }

            Console.Out.WriteLine(TerminalText.Escape($"set {answer.Name} for {deploymentName}: version {answer.Version}"));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateList()
    {
        var deployment = DeploymentArgument();
        var command = new Command("list", "List a deployment's secrets: names, versions and when each was set; never values.") { deployment };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var deploymentName = OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment));
            using var client = operatorOptions.Connect(parseResult);
            var answer = await client.SendAsync(
                HttpMethod.Get, $"/v1/deployments/{OperatorOptions.Segment(deploymentName)}/secrets", content: null, OperatorJson.Default.SecretList, cancellationToken);
            var table = new StringBuilder();
            var width = Math.Max("NAME".Length, answer.Secrets.Select(secret => secret.Name.Length).DefaultIfEmpty().Max());
            table.Append("NAME".PadRight(width)).AppendLine("  VERSION  UPDATED");
            foreach (var secret in answer.Secrets.OrderBy(secret => secret.Name, StringComparer.Ordinal))
            {
                table.Append(TerminalText.Escape(secret.Name).PadRight(width))
                    .Append("  ").Append(secret.Version.ToString(CultureInfo.InvariantCulture).PadRight("VERSION".Length))
                    .Append("  ").AppendLine(AttestationText.FormatTime(secret.UpdatedAt));
            }

            Console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command CreateRemove()
    {
        var (deployment, name) = (DeploymentArgument(), NameArgument());
        var command = new Command("rm", "Remove a secret; enclaves provisioned from now on no longer receive it.") { deployment, name };
        var operatorOptions = new OperatorOptions(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var (deploymentName, secretName) = (OperatorOptions.Deployment(parseResult.GetRequiredValue(deployment)), CheckName(parseResult.GetRequiredValue(name)));
            using var client = operatorOptions.Connect(parseResult);
            await client.SendAsync(HttpMethod.Delete, SecretPath(deploymentName, secretName), cancellationToken);
            Console.Out.WriteLine(TerminalText.Escape($"removed {secretName} from {deploymentName}"));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Argument<string> DeploymentArgument() => new("deployment") { Description = "The deployment." };

    // Arity one exactly: a value typed after the name is a usage error, never silently taken as the value.
    private static Argument<string> NameArgument() => new("name") { Description = "The secret's name: the environment variable the app sees ([A-Za-z_][A-Za-z0-9_]*)." };

    private static string SecretPath(string deployment, string name) =>
        $"/v1/deployments/{OperatorOptions.Segment(deployment)}/secrets/{OperatorOptions.Segment(name)}";

    private static string CheckName(string name) =>
        Names.IsSecretName(name)
            ? name
            : throw CommandFailedException.Usage($"'{name}' is not a secret name: an environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most {Names.MaxSecretName} characters)");

    private static byte[] ReadFile(FileInfo file)
    {
        try
        {
            return BoundedFile.ReadAllBytes(file.FullName, MaxValueSize + 2, "--from-file");
        }
        catch (FileTooLargeException ex)
        {
            throw new CommandFailedException($"--from-file {file.Name}: the value is larger than {MaxValueSize / 1024} KiB", ExitCodes.Invalid, ex);
        }
    }

    private static async Task<byte[]> ReadStdinAsync(CancellationToken cancellationToken) =>
        // Room for the largest value and a CRLF, which Value drops.
        await StandardInput.ReadAsync(MaxValueSize + 2, "the value comes from stdin (echo \"$VALUE\" | cloister secrets set …) or --from-file FILE", cancellationToken)
            ?? throw new CommandFailedException($"stdin: the value is larger than {MaxValueSize / 1024} KiB");

    /// <summary>The value to send: one trailing newline dropped, then checked as the provisioner will (UTF-8, no NUL, size).</summary>
    private static byte[] Value(byte[] bytes)
    {
        var length = bytes.AsSpan().EndsWith("\r\n"u8) ? bytes.Length - 2 : bytes.AsSpan().EndsWith("\n"u8) ? bytes.Length - 1 : bytes.Length;
        var value = bytes[..length];
        if (value.Length > MaxValueSize)
        {
            throw new CommandFailedException($"the value is {value.Length} bytes; a secret holds at most {MaxValueSize / 1024} KiB");
        }

        if (value.AsSpan().Contains((byte)0) || !Utf8.IsValid(value))
        {
            throw new CommandFailedException("the value must be UTF-8 text without NUL: it becomes an environment variable");
        }

        return value;
    }
}
