using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;
using Cloister.Attestation.Verification;

namespace Cloister.Testing;

/// <summary>
/// An enclave for attested-TLS tests: a software NSM with its own random PCR0–2 (or all-zero ones: debug mode), and
/// the attested certificates it would serve, each with a fresh key and a document bound to that key. Linked into the
/// client and CLI tests as well.
/// </summary>
internal sealed class TestEnclave : IDisposable
{
    /// <summary>The test clock's start: inside the simulated roots' validity (from 2025-01-01).</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly string[] Hostnames = ["localhost"];

    private readonly SoftwareNsm _nsm;
    private readonly TimeProvider _time;

    public TestEnclave(SimulatedNitroRoot root, TimeProvider time, bool debug = false)
    {
        var options = new SoftwareNsmOptions();
        var pcrs = new Dictionary<int, byte[]>();
        for (var i = 0; i < 3; i++)
        {
            pcrs[i] = debug ? new byte[48] : RandomNumberGenerator.GetBytes(48);
            options.Pcrs[i] = pcrs[i];
        }

        Pcrs = pcrs;
        _nsm = new SoftwareNsm(root, options, time);
        _time = time;
    }

    /// <summary>PCR0, 1 and 2 of this enclave.</summary>
    public IReadOnlyDictionary<int, byte[]> Pcrs { get; }

    /// <summary>A policy this enclave's documents match.</summary>
    public PcrPolicy Policy => PcrPolicy.Exactly(Pcrs);

    public string ModuleId => _nsm.ModuleId;

    /// <summary>A document as the enclave's NSM signs it: user_data as given, the nonce or 32 random bytes, no public_key.</summary>
    public byte[] Attest(byte[]? userData, byte[]? nonce = null) =>
        Assert.IsType<AttestationResponse>(_nsm.Process(new AttestationRequest(userData, nonce ?? RandomNumberGenerator.GetBytes(32)))).Document;

    /// <summary>A document bound to <paramref name="key"/>.</summary>
    public byte[] Attest(ECDsa key, byte[]? nonce = null) => Attest(AttestedCertificate.GetKeyBinding(key), nonce);

    /// <summary>
    /// The certificate the enclave serves: a fresh P-256 key, a document bound to it (with <paramref name="nonce"/> when
    /// given), self-signed or issued by <paramref name="issuer"/>, valid from a minute ago for <paramref name="lifetime"/> (2 h).
    /// </summary>
    public X509Certificate2 Certificate(byte[]? nonce = null, X509Certificate2? issuer = null, IReadOnlyList<string>? hostnames = null, TimeSpan? lifetime = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return Certificate(key, Attest(key, nonce), issuer, hostnames, lifetime);
    }

    /// <summary>A certificate for <paramref name="key"/> carrying <paramref name="document"/>, whatever that document says.</summary>
    public X509Certificate2 Certificate(
        ECDsa key, byte[] document, X509Certificate2? issuer = null, IReadOnlyList<string>? hostnames = null, TimeSpan? lifetime = null)
    {
        var now = _time.GetUtcNow();
        var (notBefore, notAfter) = (now.AddMinutes(-1), now + (lifetime ?? TimeSpan.FromHours(2)));
        return issuer is null
            ? AttestedCertificate.CreateSelfSigned(key, document, hostnames ?? Hostnames, notBefore, notAfter)
            : AttestedCertificate.CreateIssued(key, document, hostnames ?? Hostnames, notBefore, notAfter, issuer);
    }

    /// <summary>Seed 001's forgery: a certificate for the forger's own key carrying a genuine document of this enclave, bound to the enclave's key.</summary>
    public X509Certificate2 ForgeryWithStolenDocument()
    {
        using var enclaveKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var forgerKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        return Certificate(forgerKey, Attest(enclaveKey));
    }

    public void Dispose() => _nsm.Dispose();
}
