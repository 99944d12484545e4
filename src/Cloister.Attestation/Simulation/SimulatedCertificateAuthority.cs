using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Simulation;

/// <summary>
/// The simulated chain under a <see cref="SimulatedNitroRoot"/>: an intermediate in the shape of AWS's per-instance
/// CA and a leaf in the shape of AWS's per-enclave signing certificate, each reissued before it runs out.
/// Not thread-safe: <see cref="SoftwareNsm"/> serializes access.
/// </summary>
/// <remarks>
/// AWS's chain has three CAs between root and leaf (regional, zonal, instance); one is enough to exercise every
/// rule a verifier applies (path length, key usage, validity nesting) and keeps documents smaller.
/// </remarks>
internal sealed class SimulatedCertificateAuthority : IDisposable
{
    /// <summary>The leaf's validity, as on AWS (whose leaves are valid 3 h from the moment of issue).</summary>
    public static readonly TimeSpan LeafLifetime = TimeSpan.FromHours(3);

    /// <summary>How far before its first use a leaf becomes valid; AWS backdates by about 3 s.</summary>
    public static readonly TimeSpan LeafBackdate = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A leaf is replaced once less than this much validity remains, so every document's chain stays valid for at
    /// least this long after the document's timestamp (AWS reuses leaves for at least 1 h 40 min, see the vectors).
    /// </summary>
    public static readonly TimeSpan LeafRenewalMargin = TimeSpan.FromHours(1);

    /// <summary>The intermediate's validity, as AWS's per-instance CA.</summary>
    public static readonly TimeSpan IntermediateLifetime = TimeSpan.FromDays(1);

    private readonly SimulatedNitroRoot _root;
    private readonly string _moduleId;
    private readonly string _instanceId;
    private readonly string _region;
    private readonly byte[] _enclaveId;
    private (X509Certificate2 Certificate, ECDsa Key) _intermediate;
    private (X509Certificate2 Certificate, ECDsa Key)? _leaf;

    /// <param name="root">The root; the caller keeps ownership.</param>
    /// <param name="moduleId">The enclave's module id, <c>i-&lt;17 hex&gt;-enc&lt;16 hex&gt;</c>.</param>
    /// <param name="region">The region label in the certificates' names.</param>
    /// <param name="now">The time the intermediate is issued.</param>
    public SimulatedCertificateAuthority(SimulatedNitroRoot root, string moduleId, string region, DateTimeOffset now)
    {
        _root = root;
        _moduleId = moduleId;
        _region = region;
        _instanceId = moduleId[..moduleId.IndexOf("-enc", StringComparison.Ordinal)];
        _enclaveId = Convert.FromHexString(moduleId.AsSpan(_instanceId.Length + "-enc".Length));
        _intermediate = IssueIntermediate(now);
    }

    /// <summary>
    /// The leaf valid at <paramref name="now"/> (issuing a new one, and a new intermediate, when due) and the
    /// CA bundle above it, root first.
    /// </summary>
    public (byte[] Certificate, ECDsa Key, IReadOnlyList<byte[]> CaBundle) Signer(DateTimeOffset now)
    {
        if (_leaf is not { } leaf || now < leaf.Certificate.NotBefore || now > leaf.Certificate.NotAfter - LeafRenewalMargin)
        {
            var intermediate = _intermediate.Certificate;
            if (now < intermediate.NotBefore || now + LeafLifetime > intermediate.NotAfter)
            {
                Replace(ref _intermediate, IssueIntermediate(now));
            }

            var fresh = IssueLeaf(now);
            if (_leaf is { } old)
            {
                Dispose(old);
            }

            _leaf = leaf = fresh;
        }

        return (leaf.Certificate.RawData, leaf.Key, [_root.Certificate.RawData, _intermediate.Certificate.RawData]);
    }

    public void Dispose()
    {
        Dispose(_intermediate);
        if (_leaf is { } leaf)
        {
            Dispose(leaf);
        }
    }

    private (X509Certificate2, ECDsa) IssueIntermediate(DateTimeOffset now)
    {
        var notBefore = SimulatedCertificate.WholeSeconds(now) - LeafBackdate;
        using var signing = _root.SigningLock.EnterScope();
        return Issue(
            $"{_instanceId}.{_region}.sim",
            (_root.Certificate, _root.Key),
            notBefore,
            notBefore + IntermediateLifetime,
            SimulatedCertificate.RandomSerialNumber(20),
            new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true),
            new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, critical: true));
    }

    private (X509Certificate2, ECDsa) IssueLeaf(DateTimeOffset now)
    {
        var issued = SimulatedCertificate.WholeSeconds(now);
        var notBefore = issued - LeafBackdate;
        return Issue(
            $"{_moduleId}.{_region}.sim",
            _intermediate,
            notBefore,
            notBefore + LeafLifetime,
            LeafSerialNumber(issued),
            new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true),
            // AWS marks the leaf's keyUsage non-critical; so do we, to look the same to any parser.
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, critical: false));
    }

    /// <summary>AWS's leaf serial: the 8-byte enclave id, four zero bytes, the issue time in Unix seconds.</summary>
    private byte[] LeafSerialNumber(DateTimeOffset issued)
    {
        var serial = new byte[16];
        _enclaveId.CopyTo(serial, 0);
        BinaryPrimitives.WriteUInt32BigEndian(serial.AsSpan(12), (uint)issued.ToUnixTimeSeconds());
        return serial;
    }

    private static (X509Certificate2, ECDsa) Issue(
        string commonName,
        (X509Certificate2 Certificate, ECDsa Key) issuer,
        DateTimeOffset notBefore,
        DateTimeOffset notAfter,
        byte[] serialNumber,
        params X509Extension[] extensions)
    {
        var key = SimulatedCertificate.CreateKey();
        try
        {
            var certificate = SimulatedCertificate.Issue(
                SimulatedCertificate.Name(commonName), key, issuer, notBefore, notAfter, serialNumber, extensions);
            return (certificate, key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static void Replace(ref (X509Certificate2 Certificate, ECDsa Key) current, (X509Certificate2, ECDsa) next)
    {
        Dispose(current);
        current = next;
    }

    private static void Dispose((X509Certificate2 Certificate, ECDsa Key) issued)
    {
        issued.Certificate.Dispose();
        issued.Key.Dispose();
    }
}
