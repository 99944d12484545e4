namespace Cloister.Attestation.Verification;

/// <summary>A certificate chain that has been verified up to a trusted root, with the window in which all of it is valid.</summary>
public sealed class AttestationChain
{
    internal AttestationChain(
        string leafSubject, string rootSubject, int length, DateTimeOffset notBefore, string notBeforeSubject,
        DateTimeOffset notAfter, string notAfterSubject)
    {
        LeafSubject = leafSubject;
        RootSubject = rootSubject;
        Length = length;
        NotBefore = notBefore;
        NotBeforeSubject = notBeforeSubject;
        NotAfter = notAfter;
        NotAfterSubject = notAfterSubject;
    }

    /// <summary>The subject of the leaf certificate (the one whose key signs the document).</summary>
    public string LeafSubject { get; }

    /// <summary>The subject of the trusted root (<c>cabundle[0]</c>).</summary>
    public string RootSubject { get; }

    /// <summary>The number of certificates, leaf and root included.</summary>
    public int Length { get; }

    /// <summary>The latest notBefore in the chain: when all of it became valid.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>The earliest notAfter in the chain: when the first of it expires (the leaf, about 3 h after issue).</summary>
    public DateTimeOffset NotAfter { get; }

    internal string NotBeforeSubject { get; }

    internal string NotAfterSubject { get; }
}
