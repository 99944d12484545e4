using System.Security.Cryptography;
using Cloister.Build.Images;

namespace Cloister.Build.Tests.Images;

public sealed class VerifiedReadStreamTests
{
    private static readonly byte[] s_content = RandomNumberGenerator.GetBytes(100_000);
    private static readonly BlobDigest s_digest = BlobDigest.Compute(s_content);

    [Fact]
    public async Task Matching_content_reads_through_to_a_clean_end_sync_and_async()
    {
        using var sync = new VerifiedReadStream(new MemoryStream(s_content), s_digest, s_content.Length, "blob");
        using var copy = new MemoryStream();
        sync.CopyTo(copy);
        Assert.Equal(s_content, copy.ToArray());
        Assert.Equal(0, sync.Read(new byte[10]));

        await using var async = new VerifiedReadStream(new MemoryStream(s_content), s_digest, s_content.Length, "blob");
        var buffer = new byte[s_content.Length + 1];
        Assert.Equal(s_content.Length, await async.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false));
    }

    [Fact]
    public async Task A_flipped_bit_fails_the_last_read_with_both_digests()
    {
        var corrupted = s_content.ToArray();
        corrupted[12345] ^= 0x10;
        await using var stream = new VerifiedReadStream(new MemoryStream(corrupted), s_digest, corrupted.Length, "layer sha256:x of app");

        var ex = await Assert.ThrowsAsync<ImageSourceException>(() => stream.CopyToAsync(Stream.Null));

        Assert.Equal(ImageSourceError.DigestMismatch, ex.Error);
        Assert.Contains("layer sha256:x of app", ex.Message, StringComparison.Ordinal);
        Assert.Contains(s_digest.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains(BlobDigest.Compute(corrupted).ToString(), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, "not the 99999 its descriptor declares")]
    [InlineData(+1, "longer than the 99999 bytes")]
    public void Content_longer_or_shorter_than_declared_is_a_mismatch(int extra, string why)
    {
        var content = s_content.AsSpan(0, s_content.Length - 1 + (extra > 0 ? 1 : -1)).ToArray();
        using var stream = new VerifiedReadStream(new MemoryStream(content), s_digest, s_content.Length - 1, "blob");

        var ex = Assert.Throws<ImageSourceException>(() => stream.CopyTo(Stream.Null));

        Assert.Equal(ImageSourceError.DigestMismatch, ex.Error);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("md5:d41d8cd98f00b204e9800998ecf8427e")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Digests_other_than_lowercase_sha256_or_sha512_are_malformed(string digest)
    {
        var ex = Assert.Throws<ImageSourceException>(() => BlobDigest.Parse(digest, "layers[0].digest"));

        Assert.Equal(ImageSourceError.Malformed, ex.Error);
        Assert.Contains("layers[0].digest", ex.Message, StringComparison.Ordinal);
    }
}
