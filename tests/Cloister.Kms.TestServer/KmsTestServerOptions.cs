using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Kms.TestServer;

/// <summary>How a <see cref="KmsTestServer"/> starts.</summary>
public sealed class KmsTestServerOptions
{
    /// <summary>The key id of the default symmetric key: the example key id of the AWS KMS documentation.</summary>
    public const string DefaultSymmetricKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";

    /// <summary>The key id of the default ECC_NIST_P256 key agreement key: the other example key id of the AWS KMS documentation.</summary>
    public const string DefaultKeyAgreementKeyId = "0987dcba-09fe-87dc-65ba-ab0987654321";

    /// <summary>The alias of the default symmetric key.</summary>
    public const string DefaultSymmetricAlias = "alias/cloister-test";

    /// <summary>The alias of the default key agreement key.</summary>
    public const string DefaultKeyAgreementAlias = "alias/cloister-ecdh";

    /// <summary>Where to listen: 127.0.0.1 and a free port by default.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>HTTPS with the server's own test CA (the default), or plain HTTP.</summary>
    public bool UseHttps { get; init; } = true;

    /// <summary>The region of the key ARNs and of the SigV4 credential scope.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>The account of the key ARNs.</summary>
    public string AccountId { get; init; } = "111122223333";

    /// <summary>The only credentials accepted.</summary>
    public KmsCredentials Credentials { get; init; } = new("AKIACLOISTERTESTKMS1", "cloister/test/kms/secret/access/key/00000");

    /// <summary>The keys made at start (fresh key material each start); by default one symmetric key and one key agreement key.</summary>
    public IReadOnlyList<KmsTestKey> Keys { get; init; } =
    [
        new(DefaultSymmetricKeyId, KmsTestKeySpec.SymmetricDefault, DefaultSymmetricAlias),
        new(DefaultKeyAgreementKeyId, KmsTestKeySpec.EccNistP256KeyAgreement, DefaultKeyAgreementAlias),
    ];

    /// <summary>
    /// The Nitro root a Recipient's attestation document must chain to (a <c>SimulatedNitroRoot</c>'s certificate in
    /// tests); <see langword="null"/> trusts only the AWS Nitro Enclaves root G1, as KMS does.
    /// </summary>
    public X509Certificate2? AttestationRoot { get; init; }

    /// <summary>How old a Recipient's attestation document may be.</summary>
    public TimeSpan MaxDocumentAge { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The clock for SigV4 dates and, unless <see cref="AttestationTimeProvider"/> is set, for attestation documents (not for the TLS certificate).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// The clock attestation documents are verified at (age, certificate validity), when it must differ from the
    /// SDK's: a recorded AWS document is valid only at its own time. <see cref="TimeProvider"/> when <see langword="null"/>.
    /// </summary>
    public TimeProvider? AttestationTimeProvider { get; init; }

    /// <summary>Where to write the CA's PEM; a new temporary directory (removed on dispose) when <see langword="null"/>.</summary>
    public string? CaFilePath { get; init; }
}
