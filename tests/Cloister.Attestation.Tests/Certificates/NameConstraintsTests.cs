using System.Formats.Asn1;
using System.Security.Cryptography;
using Cloister.Attestation.Certificates;

namespace Cloister.Attestation.Tests.Certificates;

/// <summary>The nameConstraints extension: what the provisioner writes, and RFC 5280 §4.2.1.10's dNSName rules as clients enforce them.</summary>
public sealed class NameConstraintsTests
{
    [Fact]
    public void Write_permits_exactly_the_hostnames_as_a_critical_extension_that_reads_back()
    {
        var extension = NameConstraints.Write(["app.example.com", "api.example.com", "APP.example.com"]);

        Assert.Equal(NameConstraints.Oid, extension.Oid!.Value);
        Assert.True(extension.Critical);
        var read = NameConstraints.Read(extension.RawData);
        Assert.Equal(["app.example.com", "api.example.com"], read.PermittedDnsNames);
        Assert.Empty(read.ExcludedDnsNames);
        // SEQUENCE { [0] { SEQUENCE { [2] "app.example.com" }, SEQUENCE { [2] "api.example.com" } } }, byte for byte.
        Assert.Equal("3028a0263011820f6170702e6578616d706c652e636f6d3011820f6170692e6578616d706c652e636f6d", Convert.ToHexStringLower(extension.RawData));
    }

    [Theory]
    [InlineData("*.example.com")]
    [InlineData("")]
    [InlineData("bad_name.example.com")]
    [InlineData("a..b")]
    public void Write_refuses_what_is_not_a_plain_dns_name(string hostname) =>
        Assert.Throws<ArgumentException>(() => NameConstraints.Write([hostname]));

    [Fact]
    public void Write_needs_a_hostname() => Assert.Throws<ArgumentException>(() => NameConstraints.Write([]));

    [Theory]
    [InlineData("app.example.com", "app.example.com", true)]
    [InlineData("APP.Example.COM", "app.example.com", true)]
    [InlineData("x.app.example.com", "app.example.com", true)]
    [InlineData("*.app.example.com", "app.example.com", true)]
    [InlineData("evilapp.example.com", "app.example.com", false)]
    [InlineData("example.com", "app.example.com", false)]
    [InlineData("app.example.com.evil.org", "app.example.com", false)]
    [InlineData("app.example.com", ".app.example.com", false)]
    [InlineData("x.app.example.com", ".app.example.com", true)]
    [InlineData("anything.at.all", "", true)]
    public void A_name_is_permitted_when_it_is_the_subtree_with_labels_added_on_the_left(string name, string subtree, bool permitted)
    {
        var constraints = NameConstraints.Read(Encode(permitted: [DnsName(subtree)]));

        var violation = constraints.Check(name);

        Assert.Equal(permitted, violation is null);
        if (!permitted)
        {
            Assert.Contains("none of the permitted dNSName subtrees", violation, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("secret.app.example.com", true)]
    [InlineData("x.secret.app.example.com", true)]
    [InlineData("*.app.example.com", true)]
    [InlineData("*.example.com", true)]
    [InlineData("public.app.example.com", false)]
    [InlineData("app.example.com", false)]
    public void An_excluded_subtree_refuses_its_names_and_every_wildcard_that_covers_one(string name, bool excluded)
    {
        var constraints = NameConstraints.Read(Encode(permitted: [DnsName("example.com")], excluded: [DnsName("secret.app.example.com")]));

        Assert.Equal(excluded, constraints.Check(name) is not null);
    }

    [Fact]
    public void The_attested_san_entry_is_checked_like_any_name_and_named_shortly()
    {
        var constraints = NameConstraints.Read(NameConstraints.Write(["app.example.com"]).RawData);
        var label = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5000));

        Assert.Null(constraints.Check($"{label}.app.example.com"));
        var outside = $"{label}.evil.example.org";
        var violation = constraints.Check(outside);
        Assert.Contains($"({outside.Length} characters)", violation, StringComparison.Ordinal);
        Assert.True(violation!.Length < 300, violation);
    }

    [Theory]
    [InlineData(7, "iPAddress")]
    [InlineData(1, "rfc822Name")]
    [InlineData(6, "uniformResourceIdentifier")]
    public void A_constraint_of_another_form_is_refused_not_skipped(int tag, string form)
    {
        var other = new AsnWriter(AsnEncodingRules.DER);
        other.WriteOctetString([192, 0, 2, 0, 255, 255, 255, 0], new Asn1Tag(TagClass.ContextSpecific, tag));

        var ex = Assert.Throws<CryptographicException>(() => NameConstraints.Read(Encode(permitted: [DnsName("example.com"), other])));

        Assert.Contains($"permittedSubtrees holds a {form} subtree", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_name_constraint_is_refused()
    {
        var directoryName = new AsnWriter(AsnEncodingRules.DER);
        using (directoryName.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 4, isConstructed: true)))
        {
            directoryName.WriteEncodedValue(new System.Security.Cryptography.X509Certificates.X500DistinguishedName("CN=x").RawData);
        }

        var ex = Assert.Throws<CryptographicException>(() => NameConstraints.Read(Encode(excluded: [directoryName])));

        Assert.Contains("excludedSubtrees holds a directoryName subtree", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_minimum_or_maximum_an_empty_extension_and_bad_der_are_refused()
    {
        var withMaximum = new AsnWriter(AsnEncodingRules.DER);
        using (withMaximum.PushSequence())
        using (withMaximum.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
        using (withMaximum.PushSequence())
        {
            withMaximum.WriteCharacterString(UniversalTagNumber.IA5String, "example.com", new Asn1Tag(TagClass.ContextSpecific, 2));
            withMaximum.WriteInteger(3, new Asn1Tag(TagClass.ContextSpecific, 1));
        }

        Assert.Contains("minimum or maximum", Assert.Throws<CryptographicException>(() => NameConstraints.Read(withMaximum.Encode())).Message, StringComparison.Ordinal);
        Assert.Contains("neither permittedSubtrees nor excludedSubtrees", Assert.Throws<CryptographicException>(() => NameConstraints.Read(Encode())).Message, StringComparison.Ordinal);
        Assert.Contains("is empty", Assert.Throws<CryptographicException>(() => NameConstraints.Read(Encode(permitted: []))).Message, StringComparison.Ordinal);
        Assert.Contains("not valid DER", Assert.Throws<CryptographicException>(() => NameConstraints.Read(new byte[] { 0x30, 0x05, 0xa0 })).Message, StringComparison.Ordinal);
        Assert.Contains("not a DNS name", Assert.Throws<CryptographicException>(() => NameConstraints.Read(Encode(permitted: [DnsName("*.example.com")]))).Message, StringComparison.Ordinal);
    }

    private static AsnWriter DnsName(string name)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.IA5String, name, new Asn1Tag(TagClass.ContextSpecific, 2));
        return writer;
    }

    /// <summary>A NameConstraints value; a list given empty is written as an empty GeneralSubtrees (which RFC 5280 forbids).</summary>
    private static byte[] Encode(AsnWriter[]? permitted = null, AsnWriter[]? excluded = null)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (var (bases, tag) in new[] { (permitted, 0), (excluded, 1) })
            {
                if (bases is null)
                {
                    continue;
                }

                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, tag, isConstructed: true)))
                {
                    foreach (var name in bases)
                    {
                        using (writer.PushSequence())
                        {
                            writer.WriteEncodedValue(name.Encode());
                        }
                    }
                }
            }
        }

        return writer.Encode();
    }
}
