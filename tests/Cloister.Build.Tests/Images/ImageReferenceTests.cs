using Cloister.Build.Images;

namespace Cloister.Build.Tests.Images;

public sealed class ImageReferenceTests
{
    [Theory]
    [InlineData("127.0.0.1:5000/app:v1", "127.0.0.1:5000", "app", "v1", null)]
    [InlineData("localhost/team/app", "localhost", "team/app", "latest", null)]
    [InlineData("docker://registry.example.com/a/b/c:1.2-rc_3", "registry.example.com", "a/b/c", "1.2-rc_3", null)]
    [InlineData("alpine", "docker.io", "library/alpine", "latest", null)]
    [InlineData("bitnami/nginx:1.25", "docker.io", "bitnami/nginx", "1.25", null)]
    [InlineData("[::1]:5000/app", "[::1]:5000", "app", "latest", null)]
    [InlineData(
        "127.0.0.1:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "127.0.0.1:5000", "app", null, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void Registry_references_split_into_registry_repository_tag_and_digest(string text, string registry, string repository, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(ImageReferenceKind.Registry, reference.Kind);
        Assert.Equal(registry, reference.Registry);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
        Assert.Null(reference.Path);
        Assert.Equal(text, reference.ToString());
    }

    [Theory]
    [InlineData("oci-layout:/images/app", ImageReferenceKind.OciLayout, "/images/app", null, null)]
    [InlineData("oci-layout:./app:v1", ImageReferenceKind.OciLayout, "./app", "v1", null)]
    [InlineData(
        "oci-layout:app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ImageReferenceKind.OciLayout, "app", null, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("docker-archive:/tmp/app.tar", ImageReferenceKind.DockerArchive, "/tmp/app.tar", null, null)]
    [InlineData("docker-archive:/tmp/app.tar:team/app:v1", ImageReferenceKind.DockerArchive, "/tmp/app.tar", "team/app:v1", null)]
    public void Local_references_split_at_the_first_colon(string text, ImageReferenceKind kind, string path, string? tag, string? digest)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(kind, reference.Kind);
        Assert.Equal(path, reference.Path);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(digest, reference.Digest);
        Assert.Null(reference.Registry);
    }

    [Theory]
    [InlineData("oci-layout:", "path is empty")]
    [InlineData("oci-layout:dir:", "tag after ':' is empty")]
    [InlineData("oci-layout:dir@sha256:abc", "'sha256:abc' after '@'")]
    [InlineData("docker-archive:", "path is empty")]
    [InlineData("127.0.0.1:5000/App:v1", "'App' is not a valid repository")]
    [InlineData("127.0.0.1:5000/app:-bad", "'-bad' is not a valid tag")]
    [InlineData("127.0.0.1:5000/app@md5:d41d8cd98f00b204e9800998ecf8427e", "after '@'")]
    [InlineData("reg_istry.example.com/app", "'reg_istry.example.com' is not a valid registry")]
    [InlineData("", "is not a valid repository")]
    public void Malformed_references_are_refused_naming_the_part(string text, string why)
    {
        var ex = Assert.Throws<ImageSourceException>(() => ImageReference.Parse(text));

        Assert.Equal(ImageSourceError.InvalidReference, ex.Error);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("linux/amd64", "linux/amd64", true)]
    [InlineData("linux/amd64", "linux/x86_64", true)]
    [InlineData("linux/arm64", "linux/arm64/v8", true)]
    [InlineData("linux/arm64/v8", "linux/aarch64", true)]
    [InlineData("linux/arm/v7", "linux/arm/v6", false)]
    [InlineData("linux/arm", "linux/arm/v6", true)]
    [InlineData("linux/amd64", "windows/amd64", false)]
    [InlineData("linux/amd64", "linux/arm64", false)]
    public void Platforms_match_after_normalization(string wanted, string offered, bool accepts)
    {
        Assert.Equal(accepts, ImagePlatform.Parse(wanted).Accepts(ImagePlatform.Parse(offered)));
    }

    [Theory]
    [InlineData("linux")]
    [InlineData("linux//v8")]
    [InlineData("linux/arm64/v8/extra")]
    public void Malformed_platforms_are_refused(string text)
    {
        var ex = Assert.Throws<FormatException>(() => ImagePlatform.Parse(text));
        Assert.Contains(text, ex.Message, StringComparison.Ordinal);
    }
}
