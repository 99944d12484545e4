using System.Formats.Asn1;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Attestation.Documents;
using Cloister.Enclave.Kms;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Kms.Proxy;
using Cloister.Kms.Upstream;
using Cloister.Runtime.Manifest;

namespace Cloister.Enclave.Tests.Kms;

/// <summary>
/// The KMS proxy over loopback HTTP, with HttpClient as the app and an in-test KMS that answers Recipient operations
/// with a DER EnvelopedData written here (independently of the proxy's reader) to the document's key.
/// </summary>
public sealed class KmsProxyServerTests : IAsyncLifetime, IDisposable
{
    private const string KeyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    private const string Json = "application/x-amz-json-1.1";

    private static readonly byte[] s_secret = Encoding.ASCII.GetBytes("data key bytes, 32 of them......");

    private readonly Kms _kms = new();
    private readonly HttpClient _client = new();
    private KmsProxyServer _server = null!;

    public async Task InitializeAsync() => _server = await StartAsync(new KmsProxyServerOptions());

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task A_Recipient_operation_answers_the_plaintext_as_KMS_would_without_one()
    {
        using var response = await PostAsync("TrentService.GenerateDataKey", $$"""{"KeyId":"{{KeyArn}}","KeySpec":"AES_256"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Json, response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(s_secret, json.RootElement.GetProperty("Plaintext").GetBytesFromBase64());
        Assert.Equal(KeyArn, json.RootElement.GetProperty("KeyId").GetString());
        Assert.False(json.RootElement.TryGetProperty("CiphertextForRecipient", out _));
        var sent = Encoding.UTF8.GetString(Assert.Single(_kms.Calls).Body.Span);
        Assert.StartsWith($$"""{"KeyId":"{{KeyArn}}","KeySpec":"AES_256","Recipient":{"AttestationDocument":""", sent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_NSM_attester_KMS_gets_a_document_whose_public_key_the_answer_is_for()
    {
        var directory = Directory.CreateTempSubdirectory("cloister-kms-proxy-").FullName;
        try
        {
            await using var nsm = new SoftwareNsmSocket(Path.Combine(directory, "nsm.sock"));
            using var device = await nsm.ConnectAsync();
            _kms.SpkiOf = document => AttestationDocumentDecoder.Decode(document).Document.PublicKey!;
            await using var server = await KmsProxyServer.StartAsync(Settings(), KmsProxyServer.Attester(device), _kms, CancellationToken.None);

            using var response = await PostAsync("TrentService.GenerateDataKey", $$"""{"KeyId":"{{KeyArn}}"}""", server.Port);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(s_secret, json.RootElement.GetProperty("Plaintext").GetBytesFromBase64());
            using var sent = JsonDocument.Parse(Assert.Single(_kms.Calls).Body);
            var document = AttestationDocumentDecoder.Decode(sent.RootElement.GetProperty("Recipient").GetProperty("AttestationDocument").GetBytesFromBase64()).Document;
            Assert.Null(document.Nonce);
            Assert.Null(document.UserData);
            Assert.Equal(294, document.PublicKey!.Length);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task KMS_errors_reach_the_app_unchanged()
    {
        var error = """{"__type":"InvalidCiphertextException","message":null}""";
        _kms.Reply = new KmsReply(400, Encoding.UTF8.GetBytes(error), Json);

        using var response = await PostAsync("TrentService.Decrypt", $$"""{"KeyId":"{{KeyArn}}","CiphertextBlob":"AQID"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_refused_call_has_KMSs_error_shape_and_header()
    {
        using var response = await PostAsync("TrentService.CreateGrant", $$"""{"KeyId":"{{KeyArn}}"}""");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "AccessDeniedException", "CreateGrant is not in kms_proxy.allow");
        Assert.Empty(_kms.Calls);
    }

    [Fact]
    public async Task Other_paths_are_404_and_other_methods_405()
    {
        using var path = await _client.PostAsync(Url("/keys"), new StringContent("{}"));
        using var method = await _client.GetAsync(Url("/"));

        await AssertErrorAsync(path, HttpStatusCode.NotFound, "UnknownOperationException", "no such path '/keys'");
        await AssertErrorAsync(method, HttpStatusCode.MethodNotAllowed, "UnknownOperationException", "takes POST, not GET");
        Assert.Equal("POST", string.Join(",", method.Content.Headers.Allow));
    }

    [Fact]
    public async Task A_body_over_1_MiB_is_refused_with_or_without_a_length()
    {
        var oversized = new byte[KmsProxyServer.MaxBodyLength + 1];
        using var withLength = await PostAsync("TrentService.Decrypt", new ByteArrayContent(oversized));
        using var chunked = await PostAsync("TrentService.Decrypt", new StreamContent(new MemoryStream(oversized)));

        await AssertErrorAsync(withLength, HttpStatusCode.RequestEntityTooLarge, "ValidationException", "over 1048576 bytes");
        await AssertErrorAsync(chunked, HttpStatusCode.RequestEntityTooLarge, "ValidationException", "over 1048576 bytes");
        Assert.Empty(_kms.Calls);
    }

    [Fact]
    public async Task A_body_of_exactly_1_MiB_is_read()
    {
        var body = $$"""{"KeyId":"{{KeyArn}}","Plaintext":"{{new string('A', KmsProxyServer.MaxBodyLength - KeyArn.Length - 27)}}"}""";
        Assert.Equal(KmsProxyServer.MaxBodyLength, Encoding.UTF8.GetByteCount(body));
        _kms.Reply = new KmsReply(200, """{"CiphertextBlob":"AQID"}"""u8.ToArray(), Json);

        using var response = await PostAsync("TrentService.Encrypt", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, Encoding.UTF8.GetString(Assert.Single(_kms.Calls).Body.Span));
    }

    [Fact]
    public async Task Calls_over_the_concurrency_bound_are_throttled_and_retryable()
    {
        await using var server = await StartAsync(new KmsProxyServerOptions { MaxConcurrentRequests = 1 });
        var release = new TaskCompletionSource();
        _kms.Reply = new KmsReply(200, """{"CiphertextBlob":"AQID"}"""u8.ToArray(), Json);
        _kms.Entered = new TaskCompletionSource();
        _kms.Hold = release.Task;
        var first = PostAsync("TrentService.Encrypt", $$"""{"KeyId":"{{KeyArn}}","Plaintext":"AQID"}""", server.Port);
        await _kms.Entered.Task;

        using var throttled = await PostAsync("TrentService.Encrypt", $$"""{"KeyId":"{{KeyArn}}","Plaintext":"AQID"}""", server.Port);
        release.SetResult();
        using var answered = await first;

        await AssertErrorAsync(throttled, (HttpStatusCode)503, "ThrottlingException", "1 calls are in progress");
        Assert.Equal("1", throttled.Headers.RetryAfter?.ToString());
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }

    private static KmsProxySettings Settings() => new() { Port = 0, Region = "us-east-1", Allow = ["Decrypt", "GenerateDataKey", "Encrypt"], Keys = [KeyArn] };

    // The attester of most tests: the document is the SPKI itself.
    private Task<KmsProxyServer> StartAsync(KmsProxyServerOptions options) =>
        KmsProxyServer.StartAsync(Settings(), (spki, _) => Task.FromResult(spki.ToArray()), _kms, options);

    private Uri Url(string path, int? port = null) => new($"http://127.0.0.1:{port ?? _server.Port}{path}");

    private Task<HttpResponseMessage> PostAsync(string target, string body, int? port = null) =>
        PostAsync(target, new StringContent(body, Encoding.UTF8), port);

    private async Task<HttpResponseMessage> PostAsync(string target, HttpContent content, int? port = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url("/", port)) { Content = content };
        request.Headers.Add("X-Amz-Target", target);
        content.Headers.ContentType = new MediaTypeHeaderValue(Json);
        return await _client.SendAsync(request);
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string reason)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(Json, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(type, Assert.Single(response.Headers.GetValues("x-amzn-ErrorType")));
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(type, json.RootElement.GetProperty("__type").GetString());
        var message = json.RootElement.GetProperty("message").GetString()!;
        Assert.StartsWith("cloister kms_proxy: ", message, StringComparison.Ordinal);
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }

    /// <summary>KMS as far as these tests need it: a set reply, or GenerateDataKey's answer to the Recipient's key.</summary>
    private sealed class Kms : IKmsUpstream
    {
        public List<KmsCall> Calls { get; } = [];

        public KmsReply? Reply { get; set; }

        public TaskCompletionSource? Entered { get; set; }

        public Task? Hold { get; set; }

        /// <summary>The recipient key in an attestation document; the document is the key itself by default.</summary>
        public Func<byte[], byte[]> SpkiOf { get; set; } = document => document;

        public async Task<KmsReply> SendAsync(KmsCall request, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                // A copy: the server zeroes the app's body once answered.
                Calls.Add(request with { Body = request.Body.ToArray() });
            }

            Entered?.TrySetResult();
            if (Hold is { } hold)
            {
                await hold;
            }

            if (Reply is { } reply)
            {
                return reply;
            }

            using var json = JsonDocument.Parse(request.Body);
            var spki = SpkiOf(json.RootElement.GetProperty("Recipient").GetProperty("AttestationDocument").GetBytesFromBase64());
            var answer = $$"""{"CiphertextBlob":"AQID","KeyId":"{{KeyArn}}","CiphertextForRecipient":"{{Convert.ToBase64String(Envelope(s_secret, spki))}}"}""";
            return new KmsReply(200, Encoding.UTF8.GetBytes(answer), Json);
        }

        // ContentInfo/EnvelopedData in DER as RFC 5652 and KMS lay it out: one KeyTransRecipientInfo v2 whose rid is
        // SHA-256 of the SPKI, RSAES-OAEP-SHA-256 with MGF1-SHA-256 written out, AES-256-CBC content.
        private static byte[] Envelope(byte[] plaintext, byte[] spki)
        {
            using var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(spki, out _);
            var contentKey = RandomNumberGenerator.GetBytes(32);
            var iv = RandomNumberGenerator.GetBytes(16);
            using var aes = Aes.Create();
            aes.Key = contentKey;
            var explicit0 = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier("1.2.840.113549.1.7.3");
                using (writer.PushSequence(explicit0))
                using (writer.PushSequence())
                {
                    writer.WriteInteger(2);
                    using (writer.PushSetOf())
                    using (writer.PushSequence())
                    {
                        writer.WriteInteger(2);
                        writer.WriteOctetString(SHA256.HashData(spki), new Asn1Tag(TagClass.ContextSpecific, 0));
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier("1.2.840.113549.1.1.7");
                            using (writer.PushSequence())
                            {
                                using (writer.PushSequence(explicit0))
                                {
                                    WriteSha256(writer);
                                }

                                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
                                using (writer.PushSequence())
                                {
                                    writer.WriteObjectIdentifier("1.2.840.113549.1.1.8");
                                    WriteSha256(writer);
                                }
                            }
                        }

                        writer.WriteOctetString(rsa.Encrypt(contentKey, RSAEncryptionPadding.OaepSHA256));
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier("1.2.840.113549.1.7.1");
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier("2.16.840.1.101.3.4.1.42");
                            writer.WriteOctetString(iv);
                        }

                        writer.WriteOctetString(aes.EncryptCbc(plaintext, iv), new Asn1Tag(TagClass.ContextSpecific, 0));
                    }
                }
            }

            return writer.Encode();
        }

        private static void WriteSha256(AsnWriter writer)
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier("2.16.840.1.101.3.4.2.1");
                writer.WriteNull();
            }
        }
    }
}
