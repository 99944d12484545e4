using System.Text;
using Cloister.Kms.Credentials;

namespace Cloister.Kms.Tests;

public sealed class CredentialsLineTests
{
    [Fact]
    public void Temporary_credentials_are_written_in_imds_field_names_and_read_back()
    {
        var credentials = new AwsCredentials("ASIAEXAMPLE", "secret/key+", "token==", new DateTimeOffset(2026, 12, 7, 22, 0, 0, TimeSpan.Zero));

        var line = KmsCredentialsLine.Write(credentials);

        Assert.Equal("""{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret/key\u002B","Token":"token==","Expiration":"2026-12-07T22:00:00Z"}""", Encoding.UTF8.GetString(line));
        Assert.Equal(credentials, KmsCredentialsLine.Parse(line));
    }

    [Fact]
    public void Long_term_keys_have_neither_token_nor_expiration()
    {
        var line = KmsCredentialsLine.Write(new AwsCredentials("AKIAEXAMPLE", "secret", null, null));

        Assert.Equal("""{"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"secret"}""", Encoding.UTF8.GetString(line));
        Assert.Equal(new AwsCredentials("AKIAEXAMPLE", "secret", null, null), KmsCredentialsLine.Parse(line));
    }

    [Fact]
    public void An_error_line_becomes_the_hosts_reason()
    {
        var line = KmsCredentialsLine.WriteError("no credentials:\nnone in the environment");

        Assert.Equal("""{"error":"no credentials: none in the environment"}""", Encoding.UTF8.GetString(line));
        var ex = Assert.Throws<KmsCredentialsException>(() => KmsCredentialsLine.Parse(line));
        Assert.Equal("the host has no AWS credentials: no credentials: none in the environment", ex.Message);
    }

    [Theory]
    [InlineData("""{"AccessKeyId":"A"}""", "the host's credentials line lacks AccessKeyId or SecretAccessKey")]
    [InlineData("""{"AccessKeyId":"","SecretAccessKey":"s"}""", "the host's credentials line lacks AccessKeyId or SecretAccessKey")]
    [InlineData("""{"AccessKeyId":"A","SecretAccessKey":"s","Token":""}""", "the host's credentials line has an empty Token")]
    [InlineData("""{"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"soon"}""", "the host's credentials line has Expiration 'soon', not an ISO 8601 time")]
    [InlineData("""{"AccessKeyId":"A","SecretAccessKey":"s","error":"x"}""", "the host's credentials line has both credentials and an error")]
    [InlineData("null", "the host's credentials line is not the wire format: null")]
    public void A_line_that_is_not_the_wire_format_is_refused_in_one_line(string line, string expected)
    {
        var ex = Assert.Throws<KmsCredentialsException>(() => KmsCredentialsLine.Parse(Encoding.UTF8.GetBytes(line)));

        Assert.Equal(expected, ex.Message);
    }

    [Theory]
    [InlineData("""{"AccessKeyId":"A","SecretAccessKey":"s","Code":"Success"}""")]
    [InlineData("not json")]
    public void Unknown_fields_and_garbage_are_refused(string line)
    {
        var ex = Assert.Throws<KmsCredentialsException>(() => KmsCredentialsLine.Parse(Encoding.UTF8.GetBytes(line)));

        Assert.StartsWith("the host's credentials line is not the wire format: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
