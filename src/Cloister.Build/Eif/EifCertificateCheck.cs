namespace Cloister.Build.Eif;

/// <summary>
/// The check of the signing certificate itself, which nitro-cli does not make: its encoding, its own signature and,
/// when trust anchors are given, its chain to one of them (docs/build.md, "What describe checks").
/// </summary>
/// <param name="Trust">What is known.</param>
/// <param name="Detail">A sentence about the certificate, starting with a verb: "is self-signed and its signature verifies".</param>
public sealed record EifCertificateCheck(EifCertificateTrust Trust, string Detail)
{
    /// <summary>Whether the certificate must not be trusted: malformed, a failed self-signature, or outside the anchors.</summary>
    public bool Failed => Trust is EifCertificateTrust.Malformed or EifCertificateTrust.BadSelfSignature or EifCertificateTrust.NotAnchored;
}
