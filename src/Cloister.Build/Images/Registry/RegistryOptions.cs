namespace Cloister.Build.Images.Registry;

/// <summary>How a <see cref="RegistryImageSource"/> reaches a registry and where it keeps what it downloads.</summary>
public sealed class RegistryOptions
{
    /// <summary>Creates options around a blob cache directory.</summary>
    /// <param name="cacheDirectory">
    /// The content-addressed cache root; blobs land in <c>blobs/sha256/&lt;hex&gt;</c> below it, only after their digest
    /// has been verified. The CLI passes <c>~/.cloister/cache</c>.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="cacheDirectory"/> is <see langword="null"/> or empty.</exception>
    public RegistryOptions(string cacheDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        CacheDirectory = cacheDirectory;
    }

    /// <summary>The content-addressed blob cache root.</summary>
    public string CacheDirectory { get; }

    /// <summary>Where credentials come from; <see langword="null"/> pulls anonymously.</summary>
    public DockerCredentialStore? Credentials { get; init; }

    /// <summary>
    /// Registries (<c>host</c> or <c>host:port</c>) that may be spoken to over plain HTTP. Loopback registries
    /// (<c>localhost</c>, <c>127.0.0.0/8</c>, <c>[::1]</c>) always may; every other host is HTTPS only.
    /// </summary>
    public IReadOnlyCollection<string> InsecureRegistries { get; init; } = [];

    /// <summary>How long to wait for a response's headers, and for each read of a body, before giving up. 30 s by default.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a request is tried when the registry answers 5xx or the connection fails. 3 by default.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>The clock registry tokens' lifetimes are measured with: the system clock by default.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
