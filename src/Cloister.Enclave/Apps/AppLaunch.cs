using System.Net;
using Cloister.Enclave.Egress;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Provisioning;

namespace Cloister.Enclave.Apps;

/// <summary>Everything <c>execve</c> needs to start the app, resolved from <c>/cloister/enclave.json</c> and the image's files.</summary>
internal sealed record AppLaunch(string Executable, IReadOnlyList<string> Arguments, IReadOnlyList<string> Environment, string WorkingDirectory, AppCredentials Credentials)
{
    /// <summary>
    /// What the app gets on top of its image's and manifest's environment: the egress proxy's variables. The app's own
    /// values for them lose, since egress only works through the proxy.
    /// </summary>
    public static IReadOnlyList<string> ProxyEnvironment { get; } =
        [.. EgressProxy.GetAppEnvironment(new IPEndPoint(IPAddress.Loopback, EgressRules.ProxyPort)).Select(variable => $"{variable.Key}={variable.Value}")];

    /// <summary>Resolves the launch against the image root <paramref name="root"/> (<c>/</c> in the enclave).</summary>
    /// <remarks>
    /// The environment is the image's and manifest's only: the supervisor's own <c>HOME</c>, <c>OPENSSL_CONF</c> and
    /// loader path are never passed on.
    /// </remarks>
    public static AppLaunch Resolve(EnclaveLaunchSpec spec, string root)
    {
        ArgumentNullException.ThrowIfNull(spec);
        IReadOnlyList<string> arguments;
        try
        {
            arguments = spec.ResolveArguments();
        }
        catch (InvalidOperationException ex)
        {
            throw new AppLaunchException(ex.Message, AppLaunchException.NotFound, ex);
        }

        var environment = WithOverrides(spec.ResolveEnvironment(), ProxyEnvironment);
        var workingDirectory = spec.Image.WorkingDir is { Length: > 0 } workDir ? workDir : "/";
        if (!Directory.Exists(Path.Join(root, workingDirectory)))
        {
            throw new AppLaunchException($"WORKDIR {workingDirectory} does not exist in the image");
        }

        var executable = ExecutableSearch.Resolve(arguments[0], environment, root);
        return new AppLaunch(executable, arguments, environment, workingDirectory, ImageUser.Resolve(spec.Image.User, root));
    }

    /// <summary>
    /// The launch with the provisioned secrets in the app's environment: each overrides the image's or manifest's variable
    /// of the same name; the egress proxy's variables still win, since egress only works through the proxy.
    /// </summary>
    /// <exception cref="AppLaunchException">A secret's name is not an environment variable name, or its value holds a NUL.</exception>
    public AppLaunch WithSecrets(IReadOnlyList<ProvisionedSecret> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        foreach (var secret in secrets)
        {
            if (!IsVariableName(secret.Name) || secret.Value.Contains('\0', StringComparison.Ordinal))
            {
                // Named, never quoted: the value is the secret.
                throw new AppLaunchException($"provisioning: secret '{secret.Name.ReplaceLineEndings(" ")}' cannot be an environment variable (the name must match [A-Za-z_][A-Za-z0-9_]*, the value hold no NUL)");
            }
        }

        return this with { Environment = WithOverrides(WithOverrides(Environment, [.. secrets.Select(secret => $"{secret.Name}={secret.Value}")]), ProxyEnvironment) };
    }

    private static bool IsVariableName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static List<string> WithOverrides(IReadOnlyList<string> environment, IReadOnlyList<string> overrides)
    {
        var names = overrides.Select(variable => variable[..(variable.IndexOf('=', StringComparison.Ordinal) + 1)]).ToList();
        return [.. environment.Where(variable => !names.Exists(name => variable.StartsWith(name, StringComparison.Ordinal))), .. overrides];
    }
}
