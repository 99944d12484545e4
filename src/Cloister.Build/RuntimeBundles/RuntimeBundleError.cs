namespace Cloister.Build.RuntimeBundles;

/// <summary>Every way a runtime bundle can be refused (<see cref="RuntimeBundleException.Error"/>).</summary>
public enum RuntimeBundleError
{
    /// <summary>The file is larger than <see cref="RuntimeBundle.MaxSize"/>.</summary>
    TooLarge,

    /// <summary>The file's SHA-384 is not the one expected.</summary>
    DigestMismatch,

    /// <summary>A header block is not the canonical ustar header Cloister writes (checksum, magic, a numeric field, padding).</summary>
    MalformedHeader,

    /// <summary>The archive ends inside an entry, or something other than zero blocks follows its end.</summary>
    Truncated,

    /// <summary>An entry is not a directory or regular file under <c>cloister/</c>, has another mode or owner, or is out of order or repeated.</summary>
    UnexpectedEntry,

    /// <summary>A file every runtime has (the supervisor, the loader, the OpenSSL configuration, the provenance) is missing.</summary>
    MissingEntry,

    /// <summary><c>cloister/runtime.json</c> is not the provenance JSON Cloister writes.</summary>
    BadProvenance,

    /// <summary>A file's bytes, read from the bundle when an image is written, are not the ones hashed when it was checked (the file was modified in place).</summary>
    ChangedAfterCheck,
}
