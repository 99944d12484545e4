using System.Text;
using Cloister.Build.Images;
using Cloister.Build.Images.Registry;
using Cloister.Runtime.Files;

namespace Cloister.Build.Tests.Images;

public sealed class DockerCredentialStoreTests
{
    private static DockerCredentialStore Parse(string json) => DockerCredentialStore.Parse(Encoding.UTF8.GetBytes(json), "config.json");

    private static string Auth(string userPassword) => Convert.ToBase64String(Encoding.UTF8.GetBytes(userPassword));

    [Fact]
    public void Auths_entries_decode_base64_user_and_password_under_any_spelling_of_the_host()
    {
        var store = Parse($$$"""
            {"auths": {
              "127.0.0.1:5000": {"auth": "{{{Auth("alice:s3cr:et")}}}"},
              "https://registry.example.com/v2/": {"auth": "{{{Auth("bob:pw")}}}"},
              "https://index.docker.io/v1/": {"username": "carol", "password": "hub"}
            }}
            """);

        Assert.Equal(new RegistryCredential("alice", "s3cr:et"), store.Find("127.0.0.1:5000"));
        Assert.Equal(new RegistryCredential("bob", "pw"), store.Find("registry.example.com"));
        Assert.Equal(new RegistryCredential("carol", "hub"), store.Find("docker.io"));
        Assert.Null(store.Find("127.0.0.1:5001"));
        Assert.Equal("alice:***", store.Find("127.0.0.1:5000")!.ToString());
    }

    [Fact]
    public void A_credential_helper_for_the_registry_is_refused_by_name()
    {
        var store = Parse("""{"auths": {"other.example.com": {}}, "credHelpers": {"ecr.example.com": "ecr-login"}}""");

        var ex = Assert.Throws<ImageSourceException>(() => store.Find("ecr.example.com"));

        Assert.Equal(ImageSourceError.UnsupportedCredentials, ex.Error);
        Assert.Contains("docker-credential-ecr-login", ex.Message, StringComparison.Ordinal);
        Assert.Null(store.Find("other.example.com"));
    }

    [Fact]
    public void An_empty_auths_entry_with_a_creds_store_is_refused_but_other_registries_pull_anonymously()
    {
        var store = Parse("""{"auths": {"registry.example.com": {}}, "credsStore": "desktop"}""");

        var ex = Assert.Throws<ImageSourceException>(() => store.Find("registry.example.com"));

        Assert.Equal(ImageSourceError.UnsupportedCredentials, ex.Error);
        Assert.Contains("docker-credential-desktop", ex.Message, StringComparison.Ordinal);
        Assert.Null(store.Find("127.0.0.1:5000"));
    }

    [Theory]
    [InlineData("""{"auths": {"h": {"auth": "%%%"}}}""", "auths[\"h\"].auth' is not base64")]
    [InlineData("""{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}""", "auths[\"h\"].auth' does not decode to user:password")]
    [InlineData("""{"auths": []}""", "'auths' must be an object")]
    [InlineData("""{"auths": {"h": {"auth": 5}}}""", "'auths[\"h\"].auth' must be a string")]
    [InlineData("""{"auths": """, "not valid JSON")]
    public void Malformed_configs_name_the_field(string json, string why)
    {
        var ex = Assert.Throws<ImageSourceException>(() => Parse(json));

        Assert.Equal(ImageSourceError.Malformed, ex.Error);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("config.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_linked_to_an_endless_device_is_refused_at_its_limit()
    {
        var directory = Directory.CreateTempSubdirectory("cloister-docker-config-").FullName;
        try
        {
            var path = Path.Combine(directory, "config.json");
            File.CreateSymbolicLink(path, "/dev/zero");

            var ex = Assert.Throws<FileTooLargeException>(() => DockerCredentialStore.Load(path));

            Assert.Equal($"the Docker config {path}: larger than the 4 MiB limit for it", ex.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
