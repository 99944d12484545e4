using Cloister.Runtime.Provisioning;

namespace Cloister.Provisioner.Provisioning;

/// <summary>
/// Why a provisioning request was refused: one value per check of <c>POST /v1/provision</c>, in the order they run
/// (docs/provisioning.md). The caller never learns it; the log and the audit do.
/// </summary>
public enum ProvisioningRefusal
{
    /// <summary>Not refused.</summary>
    None = 0,

    /// <summary><c>request</c>: the body is not a provisioning request (malformed JSON, missing field, too large).</summary>
    Request,

    /// <summary><c>document</c>: the attestation document is not authentic (structure, chain to the trusted root, validity, signature).</summary>
    Document,

    /// <summary><c>document-age</c>: the document is older than the maximum age.</summary>
    DocumentAge,

    /// <summary><c>token-signature</c>: the token is malformed or not signed by this provisioner's token key.</summary>
    TokenSignature,

    /// <summary><c>token-expired</c>: the token's lifetime is over.</summary>
    TokenExpired,

    /// <summary><c>token-deployment</c>: the token was issued for another deployment than the one requested.</summary>
    TokenDeployment,

    /// <summary><c>user-data</c>: the document's user_data is not the SHA-384 of the token.</summary>
    UserData,

    /// <summary><c>public-key</c>: the document's public_key is absent or not a P-384 SubjectPublicKeyInfo.</summary>
    PublicKey,

    /// <summary><c>unknown-deployment</c>: no deployment of the requested name exists (any more).</summary>
    UnknownDeployment,

    /// <summary><c>host-revoked</c>: the host the token was issued to has been revoked (or removed) since.</summary>
    HostRevoked,

    /// <summary><c>pcrs</c>: the document's PCRs match none of the deployment's PCR sets.</summary>
    Pcrs,

    /// <summary><c>debug</c>: the enclave ran in debug mode and the deployment does not allow it.</summary>
    Debug,

    /// <summary><c>token-replayed</c>: the token was already redeemed (or was never issued by this service).</summary>
    TokenReplayed,
}

/// <summary>The names of <see cref="ProvisioningRefusal"/> as the log and the audit write them.</summary>
public static class ProvisioningRefusalNames
{
    /// <summary>The reason's name: <c>document</c>, <c>document-age</c>, <c>token-signature</c>, …</summary>
    /// <param name="refusal">The refusal.</param>
    /// <returns>Its name.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined value.</exception>
    public static string Name(this ProvisioningRefusal refusal) => refusal switch
    {
        ProvisioningRefusal.None => "none",
        ProvisioningRefusal.Request => "request",
        ProvisioningRefusal.Document => "document",
        ProvisioningRefusal.DocumentAge => "document-age",
        ProvisioningRefusal.TokenSignature => "token-signature",
        ProvisioningRefusal.TokenExpired => "token-expired",
        ProvisioningRefusal.TokenDeployment => "token-deployment",
        ProvisioningRefusal.UserData => "user-data",
        ProvisioningRefusal.PublicKey => "public-key",
        ProvisioningRefusal.UnknownDeployment => "unknown-deployment",
        ProvisioningRefusal.HostRevoked => "host-revoked",
        ProvisioningRefusal.Pcrs => "pcrs",
        ProvisioningRefusal.Debug => "debug",
        ProvisioningRefusal.TokenReplayed => "token-replayed",
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal, "not a provisioning refusal"),
    };
}

/// <summary>The outcome of one provisioning request: the sealed answer, or the refusal and why.</summary>
public sealed class ProvisioningOutcome
{
    private ProvisioningOutcome(ProvisionResponse? response, ProvisioningRefusal refusal, string? detail)
    {
        Response = response;
        Refusal = refusal;
        Detail = detail;
    }

    /// <summary>Whether the request was granted.</summary>
    public bool IsGranted => Refusal == ProvisioningRefusal.None;

    /// <summary>The answer when granted.</summary>
    public ProvisionResponse? Response { get; }

    /// <summary>Why it was refused, or <see cref="ProvisioningRefusal.None"/>.</summary>
    public ProvisioningRefusal Refusal { get; }

    /// <summary>What exactly failed (for the log and audit only), or <see langword="null"/>.</summary>
    public string? Detail { get; }

    internal static ProvisioningOutcome Granted(ProvisionResponse response) => new(response, ProvisioningRefusal.None, null);

    internal static ProvisioningOutcome Refused(ProvisioningRefusal refusal, string detail) => new(null, refusal, detail);
}
