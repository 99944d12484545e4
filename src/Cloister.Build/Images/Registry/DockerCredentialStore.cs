using System.Text;
using Cloister.Runtime.Files;

namespace Cloister.Build.Images.Registry;

/// <summary>A user name and password (or token) for a registry.</summary>
/// <param name="Username">The user name.</param>
/// <param name="Password">The password or personal access token.</param>
public sealed record RegistryCredential(string Username, string Password)
{
    /// <summary>The user name only: the password stays out of logs.</summary>
    public override string ToString() => $"{Username}:***";
}

/// <summary>
/// Registry credentials as Docker keeps them in <c>~/.docker/config.json</c>: <c>auths.&lt;registry&gt;.auth</c>,
/// base64 of <c>user:password</c> (or separate <c>username</c>/<c>password</c> fields).
/// </summary>
/// <remarks>
/// Credential helpers (<c>credsStore</c>, <c>credHelpers</c>) run external programs; Cloister does not, and says so
/// when a registry's credentials live there instead of guessing an anonymous pull. Keys may be written as
/// <c>host</c>, <c>host:port</c> or a URL (<c>https://index.docker.io/v1/</c> is Docker Hub).
/// </remarks>
public sealed class DockerCredentialStore
{
    private readonly Dictionary<string, RegistryCredential?> _auths;
    private readonly Dictionary<string, string> _helpers;
    private readonly string? _credsStore;
    private readonly string _source;

    private DockerCredentialStore(Dictionary<string, RegistryCredential?> auths, Dictionary<string, string> helpers, string? credsStore, string source)
    {
        _auths = auths;
        _helpers = helpers;
        _credsStore = credsStore;
        _source = source;
    }

    /// <summary>Reads a Docker config file.</summary>
    /// <param name="path">The file, e.g. <c>~/.docker/config.json</c> (the caller decides; nothing is looked up implicitly).</param>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="FileTooLargeException">The file is larger than <see cref="FileSizeLimits.Json"/>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="ImageSourceException">The file is not a valid Docker config (<see cref="ImageSourceError.Malformed"/>).</exception>
    public static DockerCredentialStore Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(BoundedFile.ReadAllBytes(path, FileSizeLimits.Json, "the Docker config"), path);
    }

    /// <summary>Parses the content of a Docker config file.</summary>
    /// <param name="json">The JSON.</param>
    /// <param name="source">Names the file in errors.</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageSourceException">The content is not a valid Docker config (<see cref="ImageSourceError.Malformed"/>).</exception>
    public static DockerCredentialStore Parse(ReadOnlyMemory<byte> json, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var fields = new JsonFields(source);
        using var document = fields.Parse(json);
        var root = fields.Object(document.RootElement, "$");
        var auths = new Dictionary<string, RegistryCredential?>(StringComparer.OrdinalIgnoreCase);
        if (fields.OptionalObject(root, "auths", "auths") is { } authsObject)
        {
            foreach (var property in authsObject.EnumerateObject())
            {
                var path = $"auths[\"{property.Name}\"]";
                auths[RegistryKey(property.Name)] = ReadCredential(fields, fields.Object(property.Value, path), path);
            }
        }

        var helpers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (fields.OptionalObject(root, "credHelpers", "credHelpers") is { } helpersObject)
        {
            foreach (var property in helpersObject.EnumerateObject())
            {
                helpers[RegistryKey(property.Name)] = fields.RequiredString(helpersObject, property.Name, $"credHelpers[\"{property.Name}\"]");
            }
        }

        return new DockerCredentialStore(auths, helpers, fields.OptionalString(root, "credsStore", "credsStore"), source);
    }

    /// <summary>The credential for a registry, or <see langword="null"/> to pull anonymously.</summary>
    /// <param name="registry">The registry as in <see cref="ImageReference.Registry"/>, e.g. <c>127.0.0.1:5000</c> or <c>docker.io</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="registry"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageSourceException">
    /// The registry's credentials are held by a credential helper (<see cref="ImageSourceError.UnsupportedCredentials"/>).
    /// </exception>
    public RegistryCredential? Find(string registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var key = RegistryKey(registry);
        if (_helpers.TryGetValue(key, out var helper))
        {
            throw Unsupported(registry, $"credHelpers names docker-credential-{helper} for it");
        }

        if (_auths.TryGetValue(key, out var credential))
        {
            // Docker leaves an empty auths entry behind when the secret went to the credsStore.
            return credential ?? (_credsStore is null ? null : throw Unsupported(registry, $"its secret is in credsStore docker-credential-{_credsStore}"));
        }

        return null;
    }

    private ImageSourceException Unsupported(string registry, string why) =>
        new(
            ImageSourceError.UnsupportedCredentials,
            $"credentials for {registry} in {_source}: {why}; Cloister does not run credential helpers — write the credential into 'auths' (base64 user:password) in a config file of its own");

    private static RegistryCredential? ReadCredential(JsonFields fields, System.Text.Json.JsonElement entry, string path)
    {
        if (fields.OptionalString(entry, "auth", path + ".auth") is { Length: > 0 } auth)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
            }
            catch (FormatException ex)
            {
                throw new ImageSourceException(ImageSourceError.Malformed, $"{fields.Document}: field '{path}.auth' is not base64", ex);
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon > 0
                ? new RegistryCredential(decoded[..colon], decoded[(colon + 1)..])
                : throw fields.Invalid(path + ".auth", "does not decode to user:password");
        }

        var username = fields.OptionalString(entry, "username", path + ".username");
        var password = fields.OptionalString(entry, "password", path + ".password");
        return username is { Length: > 0 } && password is not null ? new RegistryCredential(username, password) : null;
    }

    /// <summary>Reduces a config key or registry name to <c>host[:port]</c>, with Docker Hub's many names as <c>docker.io</c>.</summary>
    private static string RegistryKey(string name)
    {
        var key = name;
        var scheme = key.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            key = key[(scheme + 3)..];
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            key = key[..slash];
        }

        return key.ToLowerInvariant() is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? ImageReference.DockerHubRegistry : key.ToLowerInvariant();
    }
}
