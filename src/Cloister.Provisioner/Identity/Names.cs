using System.Text.RegularExpressions;

namespace Cloister.Provisioner.Identity;

/// <summary>The shapes of the names the provisioner accepts (they appear in paths, certificates and associated data).</summary>
public static partial class Names
{
    /// <summary>The longest secret name.</summary>
    public const int MaxSecretName = 128;

    /// <summary>Whether a deployment or host name is 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    /// <param name="name">The name.</param>
    /// <returns>Whether it is acceptable.</returns>
    public static bool IsEntityName(string? name) => name is not null && EntityName().IsMatch(name);

    /// <summary>Whether a secret name is an environment variable name (<c>[A-Za-z_][A-Za-z0-9_]*</c>) of at most 128 characters.</summary>
    /// <param name="name">The name.</param>
    /// <returns>Whether it is acceptable.</returns>
    public static bool IsSecretName(string? name) => name is { Length: > 0 and <= MaxSecretName } && SecretName().IsMatch(name);

    /// <summary>
    /// Whether a hostname is a lowercase DNS name of at least two labels (letters, digits, '-'; 63 per label, 253 in
    /// all), or <c>localhost</c>: a one-label constraint would otherwise permit a whole top-level domain, but
    /// <c>localhost</c> names only this machine (RFC 6761 §6.3) and is what local runs and the demo serve.
    /// </summary>
    /// <param name="hostname">The hostname.</param>
    /// <returns>Whether it is acceptable.</returns>
    public static bool IsHostname(string? hostname) => hostname is "localhost" || (hostname is { Length: <= 253 } && Hostname().IsMatch(hostname));

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\z", RegexOptions.CultureInvariant)]
    private static partial Regex EntityName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Hostname();
}
