using Cloister.Build.Supervisor;

namespace Cloister.Build.Images.Packing;

/// <summary>What <see cref="ImagePacker.Pack"/> puts into an image: one executable with the libraries it needs, extra files, and the run config.</summary>
public sealed record ImagePackOptions
{
    /// <summary>The ELF executable on this machine (e.g. a NativeAOT publish); required.</summary>
    public required string Executable { get; init; }

    /// <summary>Its absolute path in the image; <see langword="null"/> for <c>/app/&lt;file name&gt;</c>.</summary>
    public string? ExecutablePath { get; init; }

    /// <summary>Also bundle OpenSSL 3 (<c>libssl.so.3</c>, <c>libcrypto.so.3</c>), which .NET loads with dlopen, so no <c>DT_NEEDED</c> names it.</summary>
    public bool WithOpenSsl { get; init; }

    /// <summary>Also bundle <see cref="CaCertificates"/> at <c>/etc/ssl/certs/ca-certificates.crt</c>, where OpenSSL's defaults find it.</summary>
    public bool WithCaCertificates { get; init; }

    /// <summary>The CA bundle copied by <see cref="WithCaCertificates"/>; Debian's by default.</summary>
    public string CaCertificates { get; init; } = "/etc/ssl/certs/ca-certificates.crt";

    /// <summary>Files and directories of this machine copied in, owned by root with their permission bits.</summary>
    public IReadOnlyList<ImagePackAddition> Additions { get; init; } = [];

    /// <summary><c>config.Entrypoint</c>; when neither it nor <see cref="Cmd"/> is set, the entrypoint is the executable.</summary>
    public IReadOnlyList<string>? Entrypoint { get; init; }

    /// <summary><c>config.Cmd</c>.</summary>
    public IReadOnlyList<string>? Cmd { get; init; }

    /// <summary><c>config.Env</c>: <c>NAME=value</c> strings, in order.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary><c>config.WorkingDir</c>; the directory is created in the image when nothing else makes it.</summary>
    public string? WorkingDir { get; init; }

    /// <summary><c>config.User</c>; <c>/etc/passwd</c> and <c>/etc/group</c> name it, and it owns its home directory. <see langword="null"/> leaves the user unset (root).</summary>
    public ImageUser? User { get; init; }

    /// <summary><c>config.ExposedPorts</c>.</summary>
    public IReadOnlyList<ExposedPort> ExposedPorts { get; init; } = [];

    /// <summary>The modification time of every file and the config's <c>created</c>; the Unix epoch unless the build pins one (<c>SOURCE_DATE_EPOCH</c>).</summary>
    public DateTimeOffset ModificationTime { get; init; } = DateTimeOffset.UnixEpoch;

    /// <summary>Directories of this machine searched, in order, for each library by its soname.</summary>
    public IReadOnlyList<string> LibraryDirectories { get; init; } = SupervisorBundle.DefaultLibraryDirectories;
}
