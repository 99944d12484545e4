using System.Net;
using Cloister.Enclave.Ingress;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>The small parts of attested ingress on their own: forwarding syntax, nonce text, the bucket, rotation times.</summary>
public sealed class IngressPartsTests
{
    [Theory]
    [InlineData("203.0.113.7", "app.example", "for=203.0.113.7;proto=https;host=app.example")]
    [InlineData("203.0.113.7", "app.example:8443", "for=203.0.113.7;proto=https;host=\"app.example:8443\"")]
    [InlineData("2001:db8::7", "[2001:db8::1]:443", "for=\"[2001:db8::7]\";proto=https;host=\"[2001:db8::1]:443\"")]
    [InlineData(null, "", "for=unknown;proto=https")]
    public void Forwarded_element_quotes_what_is_not_a_token(string? client, string host, string expected) =>
        Assert.Equal(expected, ForwardedHeaders.ForwardedElement(client is null ? null : IPAddress.Parse(client), host));

    [Theory]
    [InlineData("Connection", "", true)]
    [InlineData("transfer-encoding", "", true)]
    [InlineData("Upgrade", "", true)]
    [InlineData("X-Listed", "keep-alive, X-Listed", true)]
    [InlineData("X-Listed", "keep-alive", false)]
    [InlineData("Content-Type", "", false)]
    public void Hop_by_hop_headers_are_the_standard_ones_and_those_connection_names(string name, string connection, bool expected) =>
        Assert.Equal(expected, HopByHopHeaders.Contains(name, connection.Length == 0 ? StringValues.Empty : new StringValues(connection)));

    [Theory]
    [InlineData("+/8=", new byte[] { 0xfb, 0xff })]
    [InlineData("-_8", new byte[] { 0xfb, 0xff })]
    [InlineData(" /8=", new byte[] { 0xfb, 0xff })]
    [InlineData("AQID", new byte[] { 1, 2, 3 })]
    public void Nonce_text_is_standard_or_url_safe_base64_padded_or_not(string text, byte[] expected)
    {
        Assert.True(AttestationEndpoint.TryDecodeNonce(text, out var nonce));
        Assert.Equal(expected, nonce);
    }

    [Theory]
    [InlineData("")]
    [InlineData("A")]
    [InlineData("AQ*D")]
    public void Nonce_text_that_is_not_base64_is_refused(string text) =>
        Assert.False(AttestationEndpoint.TryDecodeNonce(text, out _));

    [Fact]
    public void Token_bucket_gives_its_burst_then_refills_at_its_rate()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(capacity: 3, refillPerSecond: 2, time);

        Assert.True(bucket.TryTake());
        Assert.True(bucket.TryTake());
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());
        time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(bucket.TryTake());
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryTake());
        Assert.False(bucket.TryTake());
        // Never more than the capacity, however long it rests.
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => bucket.TryTake()));
    }

    [Fact]
    public void Token_bucket_tells_when_a_number_of_takes_can_have_succeeded_counting_its_refill()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(capacity: 2, refillPerSecond: 4, time);

        Assert.Equal(TimeSpan.Zero, bucket.TimeUntil(2));
        // Beyond the capacity too: each token is taken as it comes, so the bucket never fills up meanwhile.
        Assert.Equal(TimeSpan.FromSeconds(2), bucket.TimeUntil(10));
        Assert.True(bucket.TryTake());
        Assert.True(bucket.TryTake());
        Assert.Equal(TimeSpan.FromMilliseconds(250), bucket.TimeUntil(1));
        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.Zero, bucket.TimeUntil(1));
    }

    [Fact]
    public void Rotation_comes_when_a_third_of_the_signing_certificates_life_is_left_but_never_within_a_minute()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var served = new ServedCertificate(null!, [], [], start, start + TimeSpan.FromHours(3));

        Assert.Equal(start + TimeSpan.FromHours(2), BaseCertificateRotation.RotationTime(served, start));
        Assert.Equal(start + TimeSpan.FromHours(2.5) + TimeSpan.FromMinutes(1), BaseCertificateRotation.RotationTime(served, start + TimeSpan.FromHours(2.5)));
    }
}
