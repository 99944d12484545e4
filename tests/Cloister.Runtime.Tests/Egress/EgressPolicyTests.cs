using Cloister.Runtime.Egress;

namespace Cloister.Runtime.Tests.Egress;

public sealed class EgressPolicyTests
{
    private static EgressVerdict Check(string[] allow, string[] deny, string host, int port = 443) =>
        EgressPolicy.Parse(allow, deny).Evaluate(EgressDestination.Parse(host), port, out _);

    [Theory]
    [InlineData("api.stripe.com", "api.stripe.com", true)]
    [InlineData("api.stripe.com", "API.Stripe.COM.", true)]
    [InlineData("api.stripe.com", "stripe.com", false)]
    [InlineData("api.stripe.com", "evil-api.stripe.com", false)]
    [InlineData("*.amazonaws.com", "kms.amazonaws.com", true)]
    [InlineData("*.amazonaws.com", "kms.us-east-1.amazonaws.com", false)]
    [InlineData("*.amazonaws.com", "amazonaws.com", false)]
    [InlineData("**.amazonaws.com", "kms.us-east-1.amazonaws.com", true)]
    [InlineData("**.amazonaws.com", "amazonaws.com", false)]
    [InlineData("**.amazonaws.com", "amazonaws.com.evil.net", false)]
    [InlineData("kms.*.amazonaws.com", "kms.eu-west-1.amazonaws.com", true)]
    [InlineData("kms.*.amazonaws.com", "kms.a.b.amazonaws.com", false)]
    [InlineData("a.**.c", "a.b.x.c", true)]
    [InlineData("a.**.c", "a.c", false)]
    [InlineData("**", "anything.at.all", true)]
    public void Hostname_patterns_match_labels_right_to_left(string rule, string host, bool allowed) =>
        Assert.Equal(allowed ? EgressVerdict.Allowed : EgressVerdict.NotAllowed, Check([rule], [], host));

    [Fact]
    public void Empty_allow_list_allows_nothing()
    {
        Assert.Equal(EgressVerdict.NotAllowed, Check([], [], "example.com"));
        Assert.Equal(EgressVerdict.NotAllowed, Check([], [], "1.1.1.1"));
    }

    [Fact]
    public void Deny_wins_over_allow_and_names_its_rule()
    {
        var policy = EgressPolicy.Parse(["**.example.com"], ["admin.example.com"]);

        Assert.Equal(EgressVerdict.Denied, policy.Evaluate(EgressDestination.Parse("admin.example.com"), 443, out var rule));
        Assert.Equal("admin.example.com", rule!.Text);
        Assert.Equal(EgressVerdict.Allowed, policy.Evaluate(EgressDestination.Parse("www.example.com"), 443, out rule));
        Assert.Equal("**.example.com", rule!.Text);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "11.1.2.3", false)]
    [InlineData("1.2.3.4", "1.2.3.4", true)]
    [InlineData("1.2.3.4", "[::ffff:1.2.3.4]", true)]
    [InlineData("2001:db8::/32", "2001:db8::1", true)]
    [InlineData("2001:db8::/32", "[2001:db9::1]", false)]
    public void Addresses_and_cidr_blocks_match_ip_literals(string rule, string host, bool allowed) =>
        Assert.Equal(allowed ? EgressVerdict.Allowed : EgressVerdict.NotAllowed, Check([rule], [], host));

    [Theory]
    [InlineData("**", "127.0.0.1")]
    [InlineData("**", "127.1")]
    [InlineData("**", "2130706433")]
    [InlineData("*.*.*.*", "10.0.0.1")]
    public void Hostname_rules_never_let_an_ip_literal_through(string rule, string host) =>
        Assert.Equal(EgressVerdict.NotAllowed, Check([rule], [], host));

    [Fact]
    public void A_port_limits_the_rule_to_that_port()
    {
        Assert.Equal(EgressVerdict.Allowed, Check(["api.example.com:443"], [], "api.example.com", 443));
        Assert.Equal(EgressVerdict.NotAllowed, Check(["api.example.com:443"], [], "api.example.com", 80));
        Assert.Equal(EgressVerdict.Allowed, Check(["[2001:db8::1]:8443"], [], "2001:db8::1", 8443));
        Assert.Equal(EgressVerdict.NotAllowed, Check(["[2001:db8::1]:8443"], [], "2001:db8::1", 443));
        Assert.Equal(EgressVerdict.Denied, Check(["**"], ["**:25"], "smtp.example.com", 25));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("api*.example.com", "must stand alone")]
    [InlineData("exa mple.com", "not a valid hostname label")]
    [InlineData("-bad.example.com", "not a valid hostname label")]
    [InlineData("example.com:0", "port")]
    [InlineData("example.com:99999", "port")]
    [InlineData("example.com:http", "port")]
    [InlineData("10.0.0.1/8", "CIDR")]
    [InlineData("[::1", "closing")]
    public void Invalid_rules_are_refused_with_a_reason(string rule, string reason)
    {
        Assert.False(EgressPattern.TryParse(rule, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => EgressPattern.Parse(rule));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad host")]
    [InlineData("a..b")]
    public void Invalid_destinations_are_refused(string host) =>
        Assert.Throws<FormatException>(() => EgressDestination.Parse(host));
}
