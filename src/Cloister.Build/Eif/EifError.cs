namespace Cloister.Build.Eif;

/// <summary>What was wrong with a malformed enclave image file; carried by <see cref="EifFormatException"/>.</summary>
public enum EifError
{
    /// <summary>The first four bytes are not <c>.eif</c>.</summary>
    BadMagic,

    /// <summary>The header version is not one this reader understands (2 to 4).</summary>
    UnsupportedVersion,

    /// <summary>The file ends before the header or a section it declares.</summary>
    Truncated,

    /// <summary>The header declares more than 32 sections.</summary>
    TooManySections,

    /// <summary>A section type is 0 or greater than 5.</summary>
    UnknownSectionType,

    /// <summary>A section header's reserved flags are not zero.</summary>
    InvalidSectionFlags,

    /// <summary>A section header's size disagrees with the header's <c>section_sizes</c> entry.</summary>
    SectionSizeMismatch,

    /// <summary>The header's <c>section_offsets</c> entry does not point at the section header.</summary>
    SectionOffsetMismatch,

    /// <summary>Bytes follow the last declared section.</summary>
    TrailingData,

    /// <summary>There is no kernel section.</summary>
    MissingKernel,

    /// <summary>There is no cmdline section.</summary>
    MissingCmdline,

    /// <summary>There is no ramdisk section.</summary>
    MissingRamdisk,

    /// <summary>A section type that may occur once (kernel, cmdline, metadata, signature) occurs again.</summary>
    DuplicateSection,

    /// <summary>The CRC-32 in the header does not match the file's contents.</summary>
    CrcMismatch,

    /// <summary>The signature section is not the CBOR nitro-cli writes, or its certificate cannot be read.</summary>
    BadSignatureSection,

    /// <summary>The metadata section is not the JSON object nitro-cli writes.</summary>
    BadMetadata,
}
