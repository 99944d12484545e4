namespace Cloister.Build.Images;

/// <summary>
/// An operating system, CPU architecture and optional variant, as image indexes and configs name them
/// (<c>linux/amd64</c>, <c>linux/arm64/v8</c>, <c>linux/arm/v7</c>).
/// </summary>
/// <remarks>
/// Architectures are normalized the way containerd does: <c>x86_64</c>/<c>x86-64</c> are <c>amd64</c>,
/// <c>aarch64</c> is <c>arm64</c>, and <c>arm64</c> without a variant means <c>v8</c>.
/// </remarks>
public sealed record ImagePlatform
{
    /// <summary>Creates a platform, normalizing the architecture and variant.</summary>
    /// <exception cref="ArgumentException">The operating system or architecture is empty.</exception>
    public ImagePlatform(string os, string architecture, string? variant = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(os);
        ArgumentException.ThrowIfNullOrEmpty(architecture);
        Os = os.ToLowerInvariant();
        Architecture = architecture.ToLowerInvariant() switch
        {
            "x86_64" or "x86-64" => "amd64",
            "aarch64" => "arm64",
            var other => other,
        };
        Variant = string.IsNullOrEmpty(variant) ? null : variant.ToLowerInvariant();
    }

    /// <summary><c>linux/amd64</c>: the platform of Nitro Enclaves on x86 instances, and the default.</summary>
    public static ImagePlatform LinuxAmd64 { get; } = new("linux", "amd64");

    /// <summary><c>linux/arm64</c>: Nitro Enclaves on Graviton instances.</summary>
    public static ImagePlatform LinuxArm64 { get; } = new("linux", "arm64");

    /// <summary>The operating system, e.g. <c>linux</c>.</summary>
    public string Os { get; }

    /// <summary>The normalized architecture, e.g. <c>amd64</c>.</summary>
    public string Architecture { get; }

    /// <summary>The CPU variant, e.g. <c>v8</c>, or <see langword="null"/> when unspecified.</summary>
    public string? Variant { get; }

    /// <summary>Parses <c>os/architecture[/variant]</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">The text does not have two or three non-empty parts.</exception>
    public static ImagePlatform Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        if (parts.Length is < 2 or > 3 || Array.Exists(parts, p => p.Length == 0))
        {
            throw new FormatException($"platform '{text}' is not os/architecture[/variant], e.g. linux/amd64 or linux/arm64/v8");
        }

        return new ImagePlatform(parts[0], parts[1], parts.Length == 3 ? parts[2] : null);
    }

    /// <summary>
    /// Whether an image built for <paramref name="candidate"/> serves this platform: same OS and architecture,
    /// and, when this platform names a variant, the same (normalized) variant.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="candidate"/> is <see langword="null"/>.</exception>
    public bool Accepts(ImagePlatform candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return Os == candidate.Os
            && Architecture == candidate.Architecture
            && (Variant is null || NormalizedVariant == candidate.NormalizedVariant);
    }

    /// <summary><c>os/architecture[/variant]</c>.</summary>
    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";

    private string? NormalizedVariant => Architecture == "arm64" && Variant is null ? "v8" : Variant;
}
