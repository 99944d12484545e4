using Cloister.Build.Eif;
using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Cloister.Build.RuntimeBundles;

namespace Cloister.Build.Enclaves;

/// <summary>What the customer ramdisk starts.</summary>
public enum EnclaveRuntime
{
    /// <summary>Cloister's supervisor under <c>/cloister/</c> starts and supervises the app (the default).</summary>
    Cloister,

    /// <summary>Nothing is added: the ramdisk is what nitro-cli would build for the same image and blobs (same PCR2).</summary>
    None,
}

/// <summary>Options of one <see cref="EnclaveImageBuilder"/> run; paths are used as given, nothing is looked up implicitly.</summary>
public sealed class EnclaveBuildOptions
{
    /// <summary>Where <c>&lt;name&gt;.eif</c> and <c>measurements.json</c> are written; created when missing.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Where the build spools layer contents and ramdisks; it needs about twice the image's unpacked size.</summary>
    public required string TemporaryDirectory { get; init; }

    /// <summary>Registry access: the blob cache, credentials, insecure registries.</summary>
    public required RegistryOptions Registry { get; init; }

    /// <summary>Relative <c>oci-layout:</c> and <c>docker-archive:</c> paths are resolved against this directory (the manifest's).</summary>
    public string BaseDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>The kernel and bootstrap blobs; <see langword="null"/> builds a simulation-only image.</summary>
    public NitroBlobs? Blobs { get; init; }

    /// <summary>The platform picked from an image index.</summary>
    public ImagePlatform Platform { get; init; } = ImagePlatform.LinuxAmd64;

    /// <summary>Whether Cloister's supervisor is added.</summary>
    public EnclaveRuntime Runtime { get; init; } = EnclaveRuntime.Cloister;

    /// <summary>
    /// The runtime added as <c>/cloister/</c>, already read and checked; required for <see cref="EnclaveRuntime.Cloister"/>.
    /// Nothing of the build machine's own libraries goes into the image.
    /// </summary>
    public RuntimeBundle? RuntimeBundle { get; init; }

    /// <summary>The time recorded in the metadata (not measured); the caller resolves <c>SOURCE_DATE_EPOCH</c> or reads its clock.</summary>
    public required DateTimeOffset BuildTime { get; init; }

    /// <summary>
    /// The modification time of the files the build adds (supervisor, <c>enclave.json</c>), which PCR2 measures: the
    /// value of <c>SOURCE_DATE_EPOCH</c> when set, else linuxkit's fixed time, so identical inputs measure the same on any day.
    /// </summary>
    public long AddedFilesModificationTime { get; init; } = Cpio.CpioWriter.LinuxKitModTime;

    /// <summary>Signs the image (PCR8) when set.</summary>
    public EifSigner? Signer { get; init; }

    /// <summary>
    /// The <c>HashAlgorithm</c> text of <c>measurements.json</c>: <see cref="EifMeasurements.HashAlgorithmNitroCli14"/> or
    /// <see cref="EifMeasurements.HashAlgorithmNitroCli15"/> (the default). It names the same SHA-384; no PCR depends on it.
    /// </summary>
    public string HashAlgorithm { get; init; } = EifMeasurements.DefaultHashAlgorithm;
}
