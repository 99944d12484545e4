using Cloister.Build.Manifests;

namespace Cloister.Build.Tests.Manifests;

/// <summary>The manifest's <c>kms_proxy</c>: what the proxy may call and with which keys, each refusal at its line.</summary>
public sealed class KmsProxyManifestTests
{
    private const string KeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    private static string Yaml(string allow = "[Decrypt]", string keys = "[alias/payments]", string extra = "") =>
        $"name: app\nimage: x\nkms_proxy:\n  region: us-east-1\n  allow: {allow}\n  keys: {keys}\n{extra}";

    private static ManifestError FailsOnce(string yaml) =>
        Assert.Single(Assert.Throws<ManifestException>(() => EnclaveManifestReader.Parse(yaml)).Errors);

    [Fact]
    public void The_defaults_are_port_9000_the_regional_endpoint_and_the_built_in_roots()
    {
        var kms = EnclaveManifestReader.Parse(Yaml(keys: $"[\"{KeyArn}\", \"arn:aws:kms:us-east-1:111122223333:alias/a\", alias/aws/s3]"))!.KmsProxy!;

        Assert.Equal((9000, "us-east-1", null, null), (kms.Port, kms.Region, kms.Endpoint, kms.CaFile));
        Assert.Equal(["Decrypt"], kms.Allow);
        Assert.Equal(3, kms.Keys.Count);
    }

    [Theory]
    [InlineData("[Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext, GenerateDataKeyWithoutPlaintext]")]
    [InlineData("[DeriveSharedSecret, GenerateRandom, GenerateMac, VerifyMac, Sign, Verify, GetPublicKey, DescribeKey, ReEncrypt, ListKeys, ListAliases]")]
    public void Every_kms_action_is_accepted(string allow) =>
        Assert.NotEmpty(EnclaveManifestReader.Parse(Yaml(allow: allow)).KmsProxy!.Allow);

    [Theory]
    [InlineData("[Decrpyt]", "kms_proxy.allow[0]", 5, "'Decrpyt' is not a KMS action; did you mean 'Decrypt'?")]
    [InlineData("[Decrypt, GENERATEDATAKEY]", "kms_proxy.allow[1]", 5, "did you mean 'GenerateDataKey'?")]
    [InlineData("[Launch]", "kms_proxy.allow[0]", 5, "'Launch' is not a KMS action (see the AWS KMS API reference")]
    [InlineData("[\"kms:Decrypt\"]", "kms_proxy.allow[0]", 5, "write 'Decrypt' without 'kms:'")]
    [InlineData("[Decrypt, Decrypt]", "kms_proxy.allow[1]", 5, "'Decrypt' is listed twice")]
    [InlineData("[]", "kms_proxy.allow", 5, "cannot be empty")]
    [InlineData("Decrypt", "kms_proxy.allow", 5, "expected a list of KMS action names")]
    public void Bad_actions_are_refused_at_their_line(string allow, string path, int line, string message)
    {
        var error = FailsOnce(Yaml(allow: allow));

        Assert.Equal((path, line), (error.Path, error.Line));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[\"1234abcd-12ab-34cd-56ef-1234567890ab\"]", "kms_proxy.keys[0]", "bare key id; write its key ARN (arn:aws:kms:REGION:ACCOUNT:key/1234abcd-12ab-34cd-56ef-1234567890ab): the proxy compares the key ARN KMS answers")]
    [InlineData("[\"mrk-1234abcd12ab34cd56ef1234567890ab\"]", "kms_proxy.keys[0]", "bare key id")]
    [InlineData("[\"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"]", "kms_proxy.keys[0]", "is in eu-west-1, but the proxy sends every request to us-east-1")]
    [InlineData("[\"arn:aws:kms:eu-west-1:111122223333:alias/a\"]", "kms_proxy.keys[0]", "is in eu-west-1")]
    [InlineData("[\"arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab\"]", "kms_proxy.keys[0]", "12-digit account")]
    [InlineData("[\"arn:aws:kms:us-east-1:111122223333:key/not-an-id\"]", "kms_proxy.keys[0]", "does not end in a KMS key id")]
    [InlineData("[\"arn:aws:s3:::bucket\"]", "kms_proxy.keys[0]", "is not a key ARN")]
    [InlineData("[\"alias/has space\"]", "kms_proxy.keys[0]", "not a KMS alias name")]
    [InlineData("[payments]", "kms_proxy.keys[0]", "is not a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias ARN")]
    [InlineData("[alias/a, alias/a]", "kms_proxy.keys[1]", "listed twice")]
    [InlineData("[]", "kms_proxy.keys", "cannot be empty")]
    public void Bad_keys_are_refused_with_the_reason(string keys, string path, string message)
    {
        var error = FailsOnce(Yaml(keys: keys));

        Assert.Equal((path, 6), (error.Path, error.Line));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_partitions_key_arns_are_accepted()
    {
        var yaml = "name: app\nimage: x\nkms_proxy:\n  region: us-gov-west-1\n  allow: [Decrypt]\n  keys: [\"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab\"]\n";

        Assert.Single(EnclaveManifestReader.Parse(yaml).KmsProxy!.Keys);
    }

    [Theory]
    [InlineData("https://kms.example.com", "https://kms.example.com")]
    [InlineData("https://kms.example.com/", "https://kms.example.com")]
    [InlineData("https://127.0.0.1:8443", "https://127.0.0.1:8443")]
    [InlineData("https://kms.example.com:443", "https://kms.example.com")]
    public void An_endpoint_is_kept_as_scheme_host_and_port(string endpoint, string kept) =>
        Assert.Equal(kept, EnclaveManifestReader.Parse(Yaml(extra: $"  endpoint: {endpoint}\n")).KmsProxy!.Endpoint);

    [Theory]
    [InlineData("http://kms.example.com", "not an absolute https:// URL")]
    [InlineData("kms.example.com", "not an absolute https:// URL")]
    [InlineData("https://kms.example.com/v1", "without user, path, query or fragment")]
    [InlineData("https://kms.example.com?x=1", "without user, path, query or fragment")]
    [InlineData("https://kms.example.com?", "without user, path, query or fragment")]
    [InlineData("https://kms.example.com#", "without user, path, query or fragment")]
    [InlineData("https://user:pw@kms.example.com", "without user, path, query or fragment")]
    public void Bad_endpoints_are_refused(string endpoint, string message)
    {
        var error = FailsOnce(Yaml(extra: $"  endpoint: \"{endpoint}\"\n"));

        Assert.Equal(("kms_proxy.endpoint", 7), (error.Path, error.Line));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("etc/roots.pem")]
    [InlineData("/etc/../roots.pem")]
    [InlineData("/etc//roots.pem")]
    [InlineData("/etc/")]
    [InlineData("/")]
    public void A_ca_file_must_be_an_absolute_path_in_the_image(string caFile)
    {
        var error = FailsOnce(Yaml(extra: $"  ca_file: \"{caFile}\"\n"));

        Assert.Equal(("kms_proxy.ca_file", 7), (error.Path, error.Line));
        Assert.Contains("not an absolute path to a file in the image", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_allow_and_keys_and_an_unknown_key_are_all_reported()
    {
        var ex = Assert.Throws<ManifestException>(() => EnclaveManifestReader.Parse("name: app\nimage: x\nkms_proxy:\n  region: us-east-1\n  key: [alias/a]\n"));

        Assert.Equal(["kms_proxy.key", "kms_proxy.allow", "kms_proxy.keys"], ex.Errors.Select(e => e.Path));
        Assert.Contains("did you mean 'keys'?", ex.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal("'allow' is required", ex.Errors[1].Message);
    }

    [Fact]
    public void The_schema_lists_the_same_kms_actions()
    {
        using var schema = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Cloister.Testing.RepositoryPaths.Root, "docs", "enclave.schema.json")));
        var actions = schema.RootElement.GetProperty("properties").GetProperty("kms_proxy").GetProperty("properties")
            .GetProperty("allow").GetProperty("items").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!);

        Assert.Equal(EnclaveManifestReader.KmsActions, actions);
    }
}
