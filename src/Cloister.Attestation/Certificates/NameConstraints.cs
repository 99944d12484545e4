using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cloister.Attestation.Certificates;

/// <summary>
/// The nameConstraints extension (RFC 5280 §4.2.1.10) of a CA, in the one form Cloister writes and enforces:
/// dNSName subtrees. A deployment's intermediate CA carries it, critical, permitting exactly the deployment's
/// hostnames; clients in CA mode check every name they rely on against it (<see cref="AttestedTlsVerifier"/>).
/// </summary>
/// <remarks>
/// Reading fails closed: any other form of constraint (iPAddress, rfc822Name, directoryName, URI, …) or a
/// <c>minimum</c>/<c>maximum</c> is refused rather than skipped, because a constraint a client ignores is a name it
/// accepts that the CA was never allowed to certify.
/// </remarks>
public sealed class NameConstraints
{
    /// <summary>The extension's OID.</summary>
    public const string Oid = "2.5.29.30";

    private static readonly Asn1Tag s_permittedTag = new(TagClass.ContextSpecific, 0, isConstructed: true);
    private static readonly Asn1Tag s_excludedTag = new(TagClass.ContextSpecific, 1, isConstructed: true);
    private static readonly Asn1Tag s_dnsNameTag = new(TagClass.ContextSpecific, 2);
    private static readonly string[] s_generalNameForms =
        ["otherName", "rfc822Name", "dNSName", "x400Address", "directoryName", "ediPartyName", "uniformResourceIdentifier", "iPAddress", "registeredID"];

    private NameConstraints(IReadOnlyList<string>? permitted, IReadOnlyList<string> excluded)
    {
        PermittedDnsNames = permitted;
        ExcludedDnsNames = excluded;
    }

    /// <summary>The permitted dNSName subtrees, or <see langword="null"/> when the extension has no permittedSubtrees (every name not excluded is permitted).</summary>
    public IReadOnlyList<string>? PermittedDnsNames { get; }

    /// <summary>The excluded dNSName subtrees (possibly none).</summary>
    public IReadOnlyList<string> ExcludedDnsNames { get; }

    /// <summary>
    /// Writes the critical extension that permits exactly <paramref name="hostnames"/> as dNSName subtrees (each name and
    /// any name below it, RFC 5280's "adding zero or more labels to the left") and excludes nothing.
    /// </summary>
    /// <param name="hostnames">The deployment's hostnames, at least one; plain DNS names (a wildcard is not a subtree: write its parent).</param>
    /// <returns>The extension, for <see cref="CertificateRequest.CertificateExtensions"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hostnames"/> or one of them is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">There is no hostname, or one is not a DNS name of letters, digits, '-' and '.'.</exception>
    public static X509Extension Write(IEnumerable<string> hostnames)
    {
        ArgumentNullException.ThrowIfNull(hostnames);
        var names = new List<string>();
        foreach (var hostname in hostnames)
        {
            ArgumentNullException.ThrowIfNull(hostname, nameof(hostnames));
            if (!AttestedCertificate.IsDnsName(hostname) || hostname.Contains('*', StringComparison.Ordinal))
            {
                throw new ArgumentException(
                    $"'{hostname}' is not a DNS name for a name constraint (letters, digits, '-', labels of 1 to {AttestedCertificate.MaxDnsLabelLength} characters; no wildcard)",
                    nameof(hostnames));
            }

            if (!names.Contains(hostname, StringComparer.OrdinalIgnoreCase))
            {
                names.Add(hostname);
            }
        }

        if (names.Count == 0)
        {
            throw new ArgumentException("name constraints need at least one hostname", nameof(hostnames));
        }

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSequence(s_permittedTag))
        {
            foreach (var name in names)
            {
                using (writer.PushSequence())
                {
                    writer.WriteCharacterString(UniversalTagNumber.IA5String, name, s_dnsNameTag);
                }
            }
        }

        return new X509Extension(Oid, writer.Encode(), critical: true);
    }

    /// <summary>Reads the extension of <paramref name="certificate"/>, if it has one.</summary>
    /// <param name="certificate">A CA certificate.</param>
    /// <returns>The constraints, or <see langword="null"/> when the certificate has no nameConstraints extension.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    /// <exception cref="CryptographicException">The extension is not valid DER, is empty, or holds a form other than dNSName subtrees.</exception>
    public static NameConstraints? Find(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Extensions[Oid] is { } extension ? Read(extension.RawData) : null;
    }

    /// <summary>Reads a nameConstraints extension's value.</summary>
    /// <param name="extensionValue">The DER of the extension's value (the NameConstraints SEQUENCE).</param>
    /// <returns>The constraints.</returns>
    /// <exception cref="CryptographicException">The value is not valid DER, is empty, or holds a form other than dNSName subtrees.</exception>
    public static NameConstraints Read(ReadOnlyMemory<byte> extensionValue)
    {
        try
        {
            var reader = new AsnReader(extensionValue, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var permitted = sequence.HasData && sequence.PeekTag().HasSameClassAndValue(s_permittedTag)
                ? ReadSubtrees(sequence.ReadSequence(s_permittedTag), "permittedSubtrees")
                : null;
            var excluded = sequence.HasData && sequence.PeekTag().HasSameClassAndValue(s_excludedTag)
                ? ReadSubtrees(sequence.ReadSequence(s_excludedTag), "excludedSubtrees")
                : null;
            sequence.ThrowIfNotEmpty();
            return permitted is null && excluded is null
                ? throw new CryptographicException("nameConstraints: neither permittedSubtrees nor excludedSubtrees (RFC 5280 forbids an empty extension)")
                : new NameConstraints(permitted, excluded ?? []);
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException($"nameConstraints: not valid DER: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Checks one DNS name against the constraints: it must lie in a permitted subtree (when there are any) and in no
    /// excluded one. A wildcard name (<c>*.example.com</c>) lies in a subtree when its parent does, and meets an excluded
    /// subtree when any name it covers could.
    /// </summary>
    /// <param name="dnsName">The name, compared case-insensitively.</param>
    /// <returns><see langword="null"/> when the name satisfies the constraints; otherwise why it does not.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="dnsName"/> is <see langword="null"/>.</exception>
    public string? Check(string dnsName)
    {
        ArgumentNullException.ThrowIfNull(dnsName);
        if (PermittedDnsNames is { } permitted && !permitted.Any(subtree => InSubtree(dnsName, subtree)))
        {
            return $"'{Shorten(dnsName)}' is in none of the permitted dNSName subtrees {string.Join(", ", permitted.Select(s => $"'{s}'"))}";
        }

        var wildcardParent = dnsName.StartsWith("*.", StringComparison.Ordinal) ? dnsName[2..] : null;
        foreach (var subtree in ExcludedDnsNames)
        {
            if (InSubtree(dnsName, subtree) || (wildcardParent is not null && InSubtree(subtree.TrimStart('.'), wildcardParent)))
            {
                return $"'{Shorten(dnsName)}' meets the excluded dNSName subtree '{subtree}'";
            }
        }

        return null;
    }

    private static List<string> ReadSubtrees(AsnReader subtrees, string field)
    {
        var names = new List<string>();
        while (subtrees.HasData)
        {
            var subtree = subtrees.ReadSequence();
            var tag = subtree.PeekTag();
            if (tag.TagClass != TagClass.ContextSpecific || tag.TagValue != s_dnsNameTag.TagValue || tag.IsConstructed)
            {
                throw new CryptographicException($"nameConstraints: {field} holds a {FormName(tag)} subtree; only dNSName subtrees are enforced, so the CA is refused");
            }

            var name = subtree.ReadCharacterString(UniversalTagNumber.IA5String, s_dnsNameTag);
            if (subtree.HasData)
            {
                throw new CryptographicException($"nameConstraints: {field} '{name}' has a minimum or maximum, which RFC 5280 does not allow for dNSName");
            }

            // An empty base is every name (RFC 5280); a leading '.' is subdomains only, as OpenSSL reads it.
            if ((name.TrimStart('.').Length > 0 && !AttestedCertificate.IsDnsName(name.TrimStart('.'))) || name.Contains('*', StringComparison.Ordinal))
            {
                throw new CryptographicException($"nameConstraints: {field} '{Shorten(name)}' is not a DNS name");
            }

            names.Add(name);
        }

        return names.Count > 0 ? names : throw new CryptographicException($"nameConstraints: {field} is empty (RFC 5280 requires at least one subtree)");
    }

    /// <summary>The GeneralName form a tag stands for (<c>iPAddress</c> for [7]), or the tag itself when it names none.</summary>
    internal static string FormName(Asn1Tag tag) =>
        tag.TagClass == TagClass.ContextSpecific && tag.TagValue < s_generalNameForms.Length ? s_generalNameForms[tag.TagValue] : tag.ToString();

    /// <summary>RFC 5280: a name is in the subtree of <paramref name="subtree"/> when it is that name with zero or more labels added on the left.</summary>
    private static bool InSubtree(string name, string subtree)
    {
        if (subtree.Length == 0)
        {
            return true;
        }

        if (subtree[0] == '.')
        {
            return name.Length > subtree.Length && name.EndsWith(subtree, StringComparison.OrdinalIgnoreCase);
        }

        return name.Equals(subtree, StringComparison.OrdinalIgnoreCase)
            || (name.Length > subtree.Length + 1 && name[name.Length - subtree.Length - 1] == '.' && name.EndsWith(subtree, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The attested SAN entry is thousands of characters of hex: a message names its start and its length.</summary>
    private static string Shorten(string name) => name.Length <= 100 ? name : $"{name[..32]}…({name.Length} characters)…{name[^48..]}";
}
