namespace Cloister.Build.Eif;

/// <summary>What is known of an image's signing certificate itself (<see cref="EifCertificateCheck"/>).</summary>
public enum EifCertificateTrust
{
    /// <summary>It is self-signed and its own signature verifies with its own key.</summary>
    SelfSigned,

    /// <summary>Another certificate issued it and none was given: its own signature could not be checked.</summary>
    IssuerNotChecked,

    /// <summary>It chains to one of the trust anchors given.</summary>
    Anchored,

    /// <summary>It is not canonical DER: the bytes were altered, or whoever wrote them did not follow DER.</summary>
    Malformed,

    /// <summary>It names itself as its issuer (or its authority key identifier is its own key's), but its signature does not verify with its own key.</summary>
    BadSelfSignature,

    /// <summary>Trust anchors were given and it does not chain to any of them.</summary>
    NotAnchored,
}
