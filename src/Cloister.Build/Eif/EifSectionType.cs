namespace Cloister.Build.Eif;

/// <summary>The type of an EIF section, as stored in the first two bytes of its section header.</summary>
public enum EifSectionType : ushort
{
    /// <summary>Type 0: never valid in a file.</summary>
    Invalid = 0,

    /// <summary>Type 1: the kernel image (bzImage on x86_64, Image on aarch64). Measured into PCR0 and PCR1.</summary>
    Kernel = 1,

    /// <summary>Type 2: the kernel command line, without a trailing NUL. Measured into PCR0 and PCR1.</summary>
    Cmdline = 2,

    /// <summary>Type 3: a ramdisk (newc cpio). The first is measured into PCR1, the others into PCR2, all into PCR0.</summary>
    Ramdisk = 3,

    /// <summary>Type 4: the signature section (serde_cbor array of PCR signatures). Not measured; its certificate gives PCR8.</summary>
    Signature = 4,

    /// <summary>Type 5: the metadata JSON. Not measured.</summary>
    Metadata = 5,
}
