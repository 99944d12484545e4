namespace Cloister.Runtime.Files;

/// <summary>
/// The largest input file of each kind that Cloister reads whole (<see cref="BoundedFile"/>). Each is far above
/// anything real (docs/limits.md lists them with the reasons) and small enough that a hostile or mistaken input
/// cannot exhaust memory. Files that are streamed instead (a kernel, a ramdisk) have no limit but must say their
/// size (<see cref="StreamedFile"/>).
/// </summary>
public static class FileSizeLimits
{
    /// <summary><c>enclave.yaml</c>: a real manifest is a few KiB.</summary>
    public const int Manifest = 1 << 20;

    /// <summary>A PEM or DER key or certificate (chain): a real one is a few KiB.</summary>
    public const int KeyOrCertificate = 1 << 20;

    /// <summary>An attestation document: at most about 16 KiB as the NSM writes it (cabundle of four certificates and 1 KiB fields).</summary>
    public const int AttestationDocument = 1 << 20;

    /// <summary>A JSON file of measurements, metadata or configuration.</summary>
    public const int Json = 4 << 20;

    /// <summary><c>eif build --metadata</c>: nitro-cli's own limit for the custom metadata JSON (identity.rs).</summary>
    public const int CustomMetadata = 4096;

    /// <summary>A kernel configuration (<c>.config</c>): about 200 KiB for AWS's.</summary>
    public const int KernelConfig = 16 << 20;

    /// <summary>A text file read for a line or a list: the blobs' kernel command line, an image's <c>cmd</c>, <c>env</c>, <c>/etc/passwd</c> or <c>/etc/group</c>.</summary>
    public const int Text = 4 << 20;
}
