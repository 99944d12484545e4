using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Cloister.Kms.Credentials;
using Cloister.Kms.Upstream;
using Cloister.Testing;
using Cloister.Testing.Kms;

namespace Cloister.Kms.Tests;

public sealed class UpstreamTests
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private static readonly AwsCredentials s_credentials = new("AKIDEXAMPLE", Secret, "the-session-token", DateTimeOffset.UtcNow.AddHours(1));
    private static readonly byte[] s_body = """{"KeyId":"alias/payments","CiphertextBlob":"AQID"}"""u8.ToArray();

    [Fact]
    public async Task A_call_reaches_kms_signed_and_its_answer_comes_back_whole()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "localhost"), _ => (200, """{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/k","Plaintext":"AA=="}"""u8.ToArray()));
        var tunnels = new List<string>();
        using var upstream = Create(kms, [root], opened: tunnels);

        var reply = await upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None);

        Assert.Equal(200, reply.StatusCode);
        Assert.Equal("""{"KeyId":"arn:aws:kms:us-east-1:111122223333:key/k","Plaintext":"AA=="}""", Encoding.UTF8.GetString(reply.Body));
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal([$"localhost:{kms.Port}"], tunnels);
        var request = Assert.Single(kms.Requests);
        Assert.Equal(("POST", "/"), (request.Method, request.Path));
        Assert.Equal(s_body, request.Body);
        string Header(string name) => Assert.Single(request.Headers, header => header.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
        Assert.Equal("TrentService.Decrypt", Header("X-Amz-Target"));
        Assert.Equal("application/x-amz-json-1.1", Header("Content-Type"));
        Assert.Equal("the-session-token", Header("X-Amz-Security-Token"));
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", Header("Authorization"), StringComparison.Ordinal);
        Assert.Contains("/us-east-1/kms/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, ", Header("Authorization"), StringComparison.Ordinal);
        // What arrived verifies as KMS would verify it: over the Host, body and headers as the server received them.
        Assert.Null(SigningReference.Verify(request.Method, request.Headers, request.Body, Secret));
    }

    [Fact]
    public async Task Kms_error_answers_pass_through_with_their_status()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "localhost"), _ => (400, """{"__type":"InvalidCiphertextException"}"""u8.ToArray()));
        using var upstream = Create(kms, [root]);

        var reply = await upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None);

        Assert.Equal(400, reply.StatusCode);
        Assert.Equal("""{"__type":"InvalidCiphertextException"}""", Encoding.UTF8.GetString(reply.Body));
    }

    [Fact]
    public async Task An_endpoint_whose_chain_ends_in_another_root_is_refused()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        using var other = ProvisioningPki.CertificateAuthority("Someone Else");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "localhost"), _ => (200, "{}"u8.ToArray()));
        using var upstream = Create(kms, [other]);

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.StartsWith($"KMS at localhost:{kms.Port} could not be asked: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("errors in the certificate chain", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Empty(kms.Requests);
    }

    [Fact]
    public async Task The_built_in_amazon_roots_do_not_admit_a_test_ca()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "localhost"), _ => (200, "{}"u8.ToArray()));
        using var upstream = Create(kms, KmsTrustRoots.BuiltIn());

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Contains("errors in the certificate chain", ex.Message, StringComparison.Ordinal);
        Assert.Empty(kms.Requests);
    }

    [Fact]
    public async Task A_certificate_for_another_name_is_refused()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "kms.elsewhere.test"), _ => (200, "{}"u8.ToArray()));
        using var upstream = Create(kms, [root]);

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Contains("RemoteCertificateNameMismatch", ex.Message, StringComparison.Ordinal);
        Assert.Empty(kms.Requests);
    }

    [Fact]
    public async Task An_answer_over_the_bound_fails_the_call()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "localhost"), _ => (200, new byte[4097]));
        using var upstream = Create(kms, [root], maxAnswerBytes: 4096);

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Equal($"KMS at localhost:{kms.Port} answered 4097 bytes, more than the 4096 read", ex.Message);
    }

    [Fact]
    public async Task A_tunnel_that_cannot_be_opened_fails_the_call_with_its_reason()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        using var upstream = new KmsUpstream(new KmsUpstreamOptions
        {
            Endpoint = new Uri("https://kms.us-east-1.amazonaws.com/"),
            Region = "us-east-1",
            TrustRoots = [root],
            OpenTunnel = (host, port, _) => throw new IOException($"the host refused egress to {host}:{port}: not allowed"),
            Credentials = _ => ValueTask.FromResult(s_credentials),
        });

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Equal("KMS at kms.us-east-1.amazonaws.com could not be asked: the host refused egress to kms.us-east-1.amazonaws.com:443: not allowed", ex.Message);
    }

    [Fact]
    public async Task A_tunnel_that_never_opens_is_given_up_at_the_connect_bound()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        using var upstream = Hanging(root, connectTimeout: TimeSpan.FromMilliseconds(200), callTimeout: TimeSpan.FromMinutes(5));

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Equal("KMS at kms.us-east-1.amazonaws.com could not be reached within 0.2 s (tunnel and TLS handshake)", ex.Message);
    }

    [Fact]
    public async Task A_call_is_given_up_at_the_call_bound()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        using var upstream = Hanging(root, connectTimeout: TimeSpan.FromMinutes(5), callTimeout: TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Equal("KMS at kms.us-east-1.amazonaws.com did not answer within 0.2 s", ex.Message);
    }

    [Fact]
    public async Task The_callers_cancellation_stays_a_cancellation()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        using var upstream = Hanging(root, connectTimeout: TimeSpan.FromMinutes(5), callTimeout: TimeSpan.FromMinutes(5));
        using var cancel = new CancellationTokenSource();

        var call = upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Fact]
    public async Task No_credentials_fail_the_call_before_anything_is_sent()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        await using var kms = new MiniHttpsServer(KmsEndpointCertificate.Issue(root, "localhost"), _ => (200, "{}"u8.ToArray()));
        using var upstream = new KmsUpstream(new KmsUpstreamOptions
        {
            Endpoint = kms.Url,
            Region = "us-east-1",
            TrustRoots = [root],
            OpenTunnel = (_, _, token) => kms.ConnectAsync(token),
            Credentials = _ => throw new KmsCredentialsException("the host has no AWS credentials: no instance role"),
        });

        var ex = await Assert.ThrowsAsync<KmsUpstreamException>(() => upstream.SendAsync(new KmsCall("TrentService.Decrypt", s_body), CancellationToken.None));

        Assert.Equal("no AWS credentials to sign KMS calls with: the host has no AWS credentials: no instance role", ex.Message);
        Assert.Empty(kms.Requests);
    }

    [Fact]
    public void The_built_in_roots_are_the_amazon_trust_services_roots()
    {
        var roots = KmsTrustRoots.BuiltIn();

        Assert.Equal(
            ["CN=Amazon Root CA 1", "CN=Amazon Root CA 2", "CN=Amazon Root CA 3", "CN=Amazon Root CA 4", "CN=Starfield Services Root Certificate Authority - G2"],
            roots.Select(root => root.Subject.Split(", ")[0]));
        Assert.All(roots, root => Assert.Equal(root.Subject, root.Issuer));
    }

    [Fact]
    public void A_ca_file_without_certificates_is_refused_in_one_line()
    {
        var ex = Assert.Throws<InvalidDataException>(() => KmsTrustRoots.FromPem("not a certificate\n", "/etc/kms-roots.pem"));

        Assert.Equal("/etc/kms-roots.pem: holds no PEM certificate (-----BEGIN CERTIFICATE-----)", ex.Message);
    }

    [Fact]
    public void A_ca_file_is_read_as_pem_certificates()
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");

        var roots = KmsTrustRoots.FromPem(root.ExportCertificatePem(), "roots.pem");

        Assert.Equal(root.Thumbprint, Assert.Single(roots).Thumbprint);
    }

    [Theory]
    [InlineData("http://kms.test/")]
    [InlineData("https://kms.test/path")]
    [InlineData("https://kms.test/?a=b")]
    public void An_endpoint_that_is_not_https_host_port_is_refused(string endpoint)
    {
        using var root = ProvisioningPki.CertificateAuthority("Test KMS Root");
        var ex = Assert.Throws<ArgumentException>(() => new KmsUpstream(new KmsUpstreamOptions
        {
            Endpoint = new Uri(endpoint),
            Region = "us-east-1",
            TrustRoots = [root],
            OpenTunnel = (_, _, _) => throw new InvalidOperationException(),
            Credentials = _ => ValueTask.FromResult(s_credentials),
        }));

        Assert.StartsWith($"the KMS endpoint '{endpoint}' is not https://host[:port]/", ex.Message, StringComparison.Ordinal);
    }

    // A tunnel that never opens: the host's forwarder stuck on a destination that does not answer.
    private static KmsUpstream Hanging(X509Certificate2 root, TimeSpan connectTimeout, TimeSpan callTimeout) =>
        new(new KmsUpstreamOptions
        {
            Endpoint = new Uri("https://kms.us-east-1.amazonaws.com/"),
            Region = "us-east-1",
            TrustRoots = [root],
            OpenTunnel = async (_, _, token) =>
            {
                await Task.Delay(Timeout.Infinite, token);
                throw new InvalidOperationException("unreachable");
            },
            Credentials = _ => ValueTask.FromResult(s_credentials),
            ConnectTimeout = connectTimeout,
            CallTimeout = callTimeout,
        });

    private static KmsUpstream Create(MiniHttpsServer kms, X509Certificate2Collection roots, List<string>? opened = null, int maxAnswerBytes = KmsUpstreamOptions.DefaultMaxAnswerBytes) =>
        new(new KmsUpstreamOptions
        {
            Endpoint = kms.Url,
            Region = "us-east-1",
            TrustRoots = roots,
            // The tunnel is a plain TCP connection, as the host's egress forwarder makes one.
            OpenTunnel = async (host, port, token) =>
            {
                opened?.Add($"{host}:{port}");
                return await kms.ConnectAsync(token);
            },
            Credentials = _ => ValueTask.FromResult(s_credentials),
            MaxAnswerBytes = maxAnswerBytes,
        });
}
