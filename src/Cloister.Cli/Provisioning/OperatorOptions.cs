using System.CommandLine;
using Cloister.Provisioner.Identity;
using Cloister.Runtime.Provisioning;

namespace Cloister.Cli.Provisioning;

/// <summary>
/// The options every command that talks to a provisioner shares: <c>--credentials</c> (or
/// <see cref="CredentialsVariable"/>), <c>--provisioner</c> to reach it at another URL than the credentials', and
/// <c>--timeout</c>. One instance per command: System.CommandLine options belong to one command.
/// </summary>
internal sealed class OperatorOptions
{
    /// <summary>The environment variable naming the credentials file when <c>--credentials</c> is not given.</summary>
    public const string CredentialsVariable = "CLOISTER_CREDENTIALS";

    private const int DefaultTimeoutSeconds = 30;

    private readonly Option<FileInfo?> _credentials = new("--credentials")
    {
        Description = $"The credentials file (operator.json, or a host's): the provisioner's URL, its TLS pin, a client certificate. Default: ${CredentialsVariable}.",
    };

    private readonly Option<string?> _provisioner = new("--provisioner")
    {
        Description = "Reach the provisioner at this https:// URL instead of the credentials' (the pin still applies).",
    };

    private readonly Option<int> _timeout = new("--timeout")
    {
        Description = $"Give up on a request the provisioner has not answered within this many seconds (default {DefaultTimeoutSeconds}).",
        DefaultValueFactory = _ => DefaultTimeoutSeconds,
    };

    public OperatorOptions(Command command)
    {
        _timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--timeout: must be a positive number of seconds");
            }
        });
        command.Options.Add(_credentials);
        command.Options.Add(_provisioner);
        command.Options.Add(_timeout);
    }

    /// <summary>Whether the command line names a provisioner: <c>--credentials</c> or <c>--provisioner</c> given.</summary>
    public bool NamesProvisioner(ParseResult parseResult) =>
        parseResult.GetResult(_credentials) is not null || parseResult.GetResult(_provisioner) is not null;

    /// <summary>Whether credentials are at hand: <c>--credentials</c> given, or <see cref="CredentialsVariable"/> set.</summary>
    public bool HasCredentials(ParseResult parseResult) =>
        parseResult.GetResult(_credentials) is not null || Environment.GetEnvironmentVariable(CredentialsVariable) is { Length: > 0 };

    /// <summary>The credentials from <c>--credentials</c> or <see cref="CredentialsVariable"/>.</summary>
    /// <exception cref="CommandFailedException">Neither names a file (exit 2).</exception>
    /// <exception cref="FormatException">The file is not credentials, or others may read it.</exception>
    public ProvisionerCredentials ReadCredentials(ParseResult parseResult)
    {
        var path = parseResult.GetValue(_credentials)?.FullName
            ?? (Environment.GetEnvironmentVariable(CredentialsVariable) is { Length: > 0 } variable ? Path.GetFullPath(variable) : null)
            ?? throw CommandFailedException.Usage($"no credentials: pass --credentials FILE (operator.json) or set {CredentialsVariable}");
        if (!File.Exists(path))
        {
            throw CommandFailedException.Usage($"no such credentials file: {path}");
        }

        return ProvisionerCredentials.Read(path);
    }

    /// <summary>A client for the provisioner the options name.</summary>
    /// <exception cref="CommandFailedException">No credentials, or a <c>--provisioner</c> that is not an https:// URL (exit 2).</exception>
    public OperatorClient Connect(ParseResult parseResult) => Connect(parseResult, ReadCredentials(parseResult));

    /// <summary>A client for the provisioner with credentials already read.</summary>
    /// <exception cref="CommandFailedException">A <c>--provisioner</c> that is not an https:// URL (exit 2).</exception>
    public OperatorClient Connect(ParseResult parseResult, ProvisionerCredentials credentials) =>
        OperatorClient.Create(credentials, ProvisionerUrl(parseResult), TimeSpan.FromSeconds(parseResult.GetValue(_timeout)));

    /// <summary>The <c>--provisioner</c> URL, when given.</summary>
    /// <exception cref="CommandFailedException">It is not an https:// URL (exit 2).</exception>
    public Uri? ProvisionerUrl(ParseResult parseResult) =>
        parseResult.GetValue(_provisioner) is not { } text
            ? null
            : Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps && url.Host.Length > 0
                ? url
                : throw CommandFailedException.Usage($"--provisioner: '{text}' is not an https:// URL");

    /// <summary>A deployment's name, checked as the provisioner checks it, so a typo is a usage error before any request.</summary>
    /// <exception cref="CommandFailedException">It is not a deployment name (exit 2).</exception>
    public static string Deployment(string name) =>
        Names.IsEntityName(name)
            ? name
            : throw CommandFailedException.Usage($"'{name}' is not a deployment name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit");

    /// <summary>A path segment for a deployment, host or secret name, escaped so a name can never reach another route.</summary>
    public static string Segment(string name) => Uri.EscapeDataString(name);
}
