using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Cloister.Kms.Credentials;
using Cloister.Kms.Signing;

namespace Cloister.Kms.Tests;

public sealed class SigningTests
{
    // AWS's Signature Version 4 test suite (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html,
    // aws-sig-v4-test-suite): its example credentials, time, region and service.
    private const string SuiteAccessKey = "AKIDEXAMPLE";
    private const string SuiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string SuiteDate = "20150830T123600Z";
    private const string SuiteScope = "20150830/us-east-1/service/aws4_request";
    private static readonly DateTimeOffset s_suiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    // The suite's get-vanilla: canonical request, string to sign and signature as published.
    [Fact]
    public void The_reference_reproduces_the_suites_get_vanilla()
    {
        var canonical = SigningReference.CanonicalRequest("GET", [new("Host", "example.amazonaws.com"), new("X-Amz-Date", SuiteDate)], ["host", "x-amz-date"], SigningReference.Hex(System.Security.Cryptography.SHA256.HashData([])));
        Assert.Equal("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", canonical);
        var stringToSign = SigningReference.StringToSign(SuiteDate, SuiteScope, canonical);
        Assert.Equal("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63", stringToSign);
        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", SigningReference.Signature(SuiteSecret, "20150830", "us-east-1", "service", stringToSign));
    }

    // The suite's post-x-www-form-urlencoded (body Param1=value1), as published.
    [Fact]
    public void The_reference_reproduces_the_suites_post_x_www_form_urlencoded()
    {
        var body = "Param1=value1"u8.ToArray();
        var canonical = SigningReference.CanonicalRequest(
            "POST",
            [new("Content-Type", "application/x-www-form-urlencoded"), new("Host", "example.amazonaws.com"), new("X-Amz-Date", SuiteDate)],
            ["content-type", "host", "x-amz-date"],
            SigningReference.Hex(System.Security.Cryptography.SHA256.HashData(body)));
        Assert.Equal("POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", canonical);
        var stringToSign = SigningReference.StringToSign(SuiteDate, SuiteScope, canonical);
        Assert.Equal("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281", stringToSign);
        Assert.Equal("ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a", SigningReference.Signature(SuiteSecret, "20150830", "us-east-1", "service", stringToSign));
    }

    // The SDK's standalone signer always signs X-Amz-Content-SHA256, which the suite's cases do not carry; AWS's S3
    // documentation publishes a signature that does (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
    // "Example: GET Object"), and the signer KmsRequestSigner calls reproduces it.
    [Fact]
    public void The_sdks_signer_reproduces_the_published_s3_get_object_example()
    {
        var request = new AWSSigningRequest { HttpMethod = HttpMethod.Get, RequestUri = new Uri("https://examplebucket.s3.amazonaws.com/test.txt") };
        request.Headers["Range"] = "bytes=0-9";
        var result = AWSSigV4Signer.Sign(request, new AWSSigV4Parameters
        {
            Credentials = new BasicAWSCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            Region = Amazon.RegionEndpoint.USEast1,
            Service = "s3",
            SignPayload = true,
            SignedAt = new DateTime(2013, 5, 24, 0, 0, 0, DateTimeKind.Utc),
        });
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            result.Headers["Authorization"]);
    }

    [Fact]
    public void A_kms_call_with_temporary_credentials_is_signed_over_every_header_kms_checks()
    {
        var body = """{"KeyId":"alias/payments","CiphertextBlob":"AQID"}"""u8.ToArray();
        var credentials = new AwsCredentials(SuiteAccessKey, SuiteSecret, "session-token/with+symbols=", s_suiteTime.AddHours(1));
        var endpoint = new Uri("https://kms.eu-central-1.amazonaws.com/");
        var headers = KmsRequestSigner.Sign(endpoint, "TrentService.Decrypt", body, credentials, "eu-central-1", s_suiteTime);

        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-central-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=",
            headers["Authorization"][..^64]);
        Assert.Equal(SuiteDate, headers["X-Amz-Date"]);
        Assert.Equal("session-token/with+symbols=", headers["x-amz-security-token"]);
        Assert.Equal(SigningReference.Hex(System.Security.Cryptography.SHA256.HashData(body)), headers["X-Amz-Content-SHA256"]);

        List<KeyValuePair<string, string>> sent =
        [
            new("Host", "kms.eu-central-1.amazonaws.com"), new("Content-Type", "application/x-amz-json-1.1"), new("X-Amz-Target", "TrentService.Decrypt"),
            .. headers,
        ];
        Assert.Null(SigningReference.Verify("POST", sent, body, SuiteSecret));
        // The reference is not a rubber stamp: another body, target or secret does not verify.
        Assert.NotNull(SigningReference.Verify("POST", sent, """{"KeyId":"alias/other","CiphertextBlob":"AQID"}"""u8.ToArray(), SuiteSecret));
        Assert.NotNull(SigningReference.Verify("POST", [.. sent.Select(header => header.Key == "X-Amz-Target" ? new KeyValuePair<string, string>(header.Key, "TrentService.Encrypt") : header)], body, SuiteSecret));
        Assert.NotNull(SigningReference.Verify("POST", sent, body, SuiteSecret + "x"));
    }

    [Fact]
    public void Long_term_keys_sign_without_a_security_token_and_a_port_is_part_of_the_signed_host()
    {
        var body = Encoding.UTF8.GetBytes("{}");
        var headers = KmsRequestSigner.Sign(new Uri("https://kms.test:8443/"), "TrentService.GenerateRandom", body, new AwsCredentials(SuiteAccessKey, SuiteSecret, null, null), "us-east-1", s_suiteTime);

        Assert.False(headers.ContainsKey("x-amz-security-token"));
        Assert.Contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target,", headers["Authorization"], StringComparison.Ordinal);
        List<KeyValuePair<string, string>> sent = [new("Host", "kms.test:8443"), new("Content-Type", "application/x-amz-json-1.1"), new("X-Amz-Target", "TrentService.GenerateRandom"), .. headers];
        Assert.Null(SigningReference.Verify("POST", sent, body, SuiteSecret));
    }
}
