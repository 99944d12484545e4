namespace Cloister.Cli;

/// <summary>Where the CLI keeps per-user state: everything under <c>~/.cloister/</c>.</summary>
internal static class UserDirectories
{
    private static string Home => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary><c>~/.cloister</c>.</summary>
    public static string Cloister => Path.Combine(Home, ".cloister");

    /// <summary>Verified registry blobs, content-addressed.</summary>
    public static string BlobCache => Path.Combine(Cloister, "cache");

    /// <summary>The simulated Nitro root that signs the simulator's attestation documents.</summary>
    public static string SimulatedRoot => Path.Combine(Cloister, "sim");

    /// <summary>Docker's credentials file: <c>$DOCKER_CONFIG/config.json</c>, else <c>~/.docker/config.json</c>.</summary>
    public static string DockerConfig =>
        Path.Combine(Environment.GetEnvironmentVariable("DOCKER_CONFIG") ?? Path.Combine(Home, ".docker"), "config.json");
}
