using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;
using Cloister.Enclave.LocalApi;

namespace Cloister.Enclave.Tests.LocalApi;

/// <summary>
/// <c>/encrypt</c> and <c>/decrypt</c> over loopback HTTP with a ring after one rotation (versions 1 and 2, current 2),
/// against ciphertexts made in process by the same deployment's version 1, its public key, and other rings.
/// </summary>
public sealed class CryptoApiTests : IAsyncLifetime, IDisposable
{
    private const string Deployment = "payments";
    private const string Document = """{"card":"4111 1111 1111 1111","name":"Zoë \"Z\" \u00e9","amount":12.50,"count":-3e2,"ok":true,"no":false,"none":null,"tags":["a","",{"deep":["x"]}],"empty":{}}""";

    private static readonly DeploymentKeyId s_keyId = DeploymentKeyId.New();

    // Version 1 as the provisioner keeps it: every ring holding it is made from these bytes.
    private readonly byte[] _v1PrivateKey;
    private readonly byte[] _v1DataKey;

    // The deployment before its rotation: what made the ciphertexts of version 1.
    private readonly DeploymentKeyRing _before;
    private readonly DeploymentKeyRing _keys;
    private LocalApiHarness _api = null!;

    public CryptoApiTests()
    {
        using (var v1 = DeploymentKey.Generate(1))
        {
            _v1PrivateKey = v1.ExportPrivateKey();
            _v1DataKey = v1.ExportDataKey();
        }

        _before = new DeploymentKeyRing(Deployment, s_keyId, [V1()], 1);
        _keys = new DeploymentKeyRing(Deployment, s_keyId, [V1(), DeploymentKey.Generate(2)], 2);
    }

    public async Task InitializeAsync() => _api = await LocalApiHarness.StartAsync(new LocalApiOptions { Keys = _keys });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public void Dispose()
    {
        _keys.Dispose();
        _before.Dispose();
        CryptographicOperations.ZeroMemory(_v1PrivateKey);
        CryptographicOperations.ZeroMemory(_v1DataKey);
    }

    [Fact]
    public async Task Json_string_leaves_round_trip_and_nothing_else_is_touched()
    {
        var encrypted = await PostJsonAsync("/encrypt", Document);

        var node = JsonNode.Parse(encrypted)!;
        Assert.StartsWith("cl:", (string)node["card"]!, StringComparison.Ordinal);
        Assert.StartsWith("cl:", (string)node["tags"]![2]!["deep"]![0]!, StringComparison.Ordinal);
        Assert.Equal(12.50m, (decimal)node["amount"]!);
        Assert.True((bool)node["ok"]!);
        Assert.Null(node["none"]);
        Assert.DoesNotContain("4111", encrypted, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Document), JsonNode.Parse(await PostJsonAsync("/decrypt", encrypted))));
    }

    [Fact]
    public async Task With_leaves_all_numbers_and_booleans_are_encrypted_too_and_come_back_as_themselves()
    {
        var encrypted = JsonNode.Parse(await PostJsonAsync("/encrypt?leaves=all", Document))!;

        foreach (var field in new[] { "card", "amount", "count", "ok", "no" })
        {
            Assert.StartsWith("cl:", (string)encrypted[field]!, StringComparison.Ordinal);
        }

        Assert.Null(encrypted["none"]);
        var decrypted = await PostJsonAsync("/decrypt", encrypted.ToJsonString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Document), JsonNode.Parse(decrypted)), decrypted);
        Assert.Contains("\"count\":-3e2", decrypted, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"just a string\"")]
    [InlineData("[]")]
    [InlineData("42")]
    public async Task Any_json_value_at_the_top_round_trips(string json)
    {
        var decrypted = await PostJsonAsync("/decrypt", await PostJsonAsync("/encrypt?leaves=all", json));

        Assert.Equal(json, decrypted);
    }

    [Fact]
    public async Task A_body_without_content_type_is_json()
    {
        using var content = new ByteArrayContent("{\"a\":\"b\"}"u8.ToArray());
        using var response = await _api.Client.PostAsync("/encrypt", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("cl:", (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["a"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_octet_stream_body_is_encrypted_whole_and_decrypts_to_the_same_bytes()
    {
        var plaintext = RandomNumberGenerator.GetBytes(300_000);

        var ciphertext = await PostBytesAsync("/encrypt", plaintext);

        using (var encryptor = _keys.CreateEncryptor())
        {
            Assert.Equal(encryptor.GetCiphertextLength(plaintext.Length), ciphertext.Length);
        }

        Assert.Equal((byte)PlaintextKind.Bytes, ciphertext[2]);
        Assert.Equal(plaintext, await PostBytesAsync("/decrypt", ciphertext));
    }

    [Fact]
    public async Task An_empty_octet_stream_round_trips()
    {
        Assert.Empty(await PostBytesAsync("/decrypt", await PostBytesAsync("/encrypt", [])));
    }

    [Fact]
    public async Task Public_key_ciphertexts_made_outside_decrypt()
    {
        using var encryptor = _keys.CurrentPublicKey.CreateEncryptor();
        var card = encryptor.EncryptToString("4111 1111 1111 1111"u8, PlaintextKind.String);
        var amount = encryptor.EncryptToString("12.5"u8, PlaintextKind.Number);
        var file = RandomNumberGenerator.GetBytes(5000);

        var decrypted = JsonNode.Parse(await PostJsonAsync("/decrypt", $$"""{"card":"{{card}}","amount":"{{amount}}","plain":"stays"}"""))!;

        Assert.Equal("4111 1111 1111 1111", (string)decrypted["card"]!);
        Assert.Equal(12.5m, (decimal)decrypted["amount"]!);
        Assert.Equal("stays", (string)decrypted["plain"]!);
        Assert.Equal(file, await PostBytesAsync("/decrypt", encryptor.Encrypt(file, PlaintextKind.Bytes)));
    }

    [Fact]
    public async Task After_a_rotation_old_ciphertexts_decrypt_and_new_ones_carry_the_new_version()
    {
        using var before = _before.CreateEncryptor();
        var old = before.EncryptToString("from version 1"u8, PlaintextKind.String);
        Assert.Equal(1, KeyVersion(Decode(old)));

        var decrypted = JsonNode.Parse(await PostJsonAsync("/decrypt", $$"""{"old":"{{old}}"}"""))!;
        var fresh = (string)JsonNode.Parse(await PostJsonAsync("/encrypt", """{"new":"from version 2"}"""))!["new"]!;

        Assert.Equal("from version 1", (string)decrypted["old"]!);
        Assert.Equal(2, KeyVersion(Decode(fresh)));
        Assert.Equal(2, KeyVersion(await PostBytesAsync("/encrypt", [1, 2, 3])));
        using var stale = _before.CreateDecryptor();
        var ex = Assert.Throws<CiphertextException>(() => stale.DecryptString(fresh, out _));
        Assert.Equal(CiphertextFailure.UnknownKeyVersion, ex.Failure);
    }

    [Fact]
    public async Task Another_deployments_ciphertext_is_refused_as_such()
    {
        using var other = new DeploymentKeyRing("billing", DeploymentKeyId.New(), [DeploymentKey.Generate(1)], 1);
        using var encryptor = other.CreateEncryptor();

        await AssertRefusedAsync(PostJson("/decrypt", $$"""{"phone":"{{encryptor.EncryptToString("+353 1 234 5678"u8, PlaintextKind.String)}}"}"""), HttpStatusCode.UnprocessableEntity, "other_deployment");
        await AssertRefusedAsync(PostBytes("/decrypt", encryptor.Encrypt([1, 2, 3], PlaintextKind.Bytes)), HttpStatusCode.UnprocessableEntity, "other_deployment");
        // The answer's bytes, not only its parsed value, name the deployment readably (no \u0027 for the quotes).
        using var raw = await PostBytes("/decrypt", encryptor.Encrypt([1, 2, 3], PlaintextKind.Bytes));
        Assert.Contains("deployment '", await raw.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_this_enclave_does_not_hold_is_refused_as_such()
    {
        using var later = new DeploymentKeyRing(Deployment, s_keyId, [V1(), DeploymentKey.Generate(3)], 3);
        using var encryptor = later.CreateEncryptor();

        await AssertRefusedAsync(PostBytes("/decrypt", encryptor.Encrypt([1], PlaintextKind.Bytes)), HttpStatusCode.UnprocessableEntity, "unknown_key_version");
    }

    [Theory]
    [InlineData(3)] // the key id: now another deployment's
    [InlineData(20)] // the salt
    [InlineData(35)] // the nonce
    [InlineData(50)] // the ciphertext
    [InlineData(-1)] // the tag
    public async Task A_flipped_bit_anywhere_fails_with_its_reason(int at)
    {
        using var encryptor = _keys.CreateEncryptor();
        var ciphertext = encryptor.Encrypt(RandomNumberGenerator.GetBytes(40), PlaintextKind.Bytes);
        ciphertext[at < 0 ? ciphertext.Length + at : at] ^= 0x10;
        var reason = at == 3 ? "other_deployment" : "tampered";

        await AssertRefusedAsync(PostBytes("/decrypt", ciphertext), HttpStatusCode.UnprocessableEntity, reason);
        await AssertRefusedAsync(PostJson("/decrypt", $$"""{"x":["cl:{{Base64Url.EncodeToString(ciphertext)}}"]}"""), HttpStatusCode.UnprocessableEntity, reason);
    }

    [Theory]
    [InlineData("truncated", "malformed")]
    [InlineData("version", "unsupported_version")]
    [InlineData("algorithm", "unsupported_algorithm")]
    [InlineData("kind", "unsupported_kind")]
    public async Task A_ciphertext_this_format_cannot_read_is_a_bad_request(string change, string reason)
    {
        using var encryptor = _keys.CreateEncryptor();
        var ciphertext = encryptor.Encrypt("some text"u8, PlaintextKind.Bytes);
        switch (change)
        {
            case "truncated": ciphertext = ciphertext[..40]; break;
            case "version": ciphertext[0] = 2; break;
            case "algorithm": ciphertext[1] = 9; break;
            case "kind": ciphertext[2] = 7; break;
        }

        await AssertRefusedAsync(PostBytes("/decrypt", ciphertext), HttpStatusCode.BadRequest, reason);
    }

    [Theory]
    [InlineData("/encrypt", "{\"a\":", "invalid_json")]
    [InlineData("/decrypt", "{\"a\":1,}", "invalid_json")]
    [InlineData("/encrypt", "", "invalid_json")]
    [InlineData("/decrypt", "{\"a\":\"cl:not base64!\"}", "malformed")]
    public async Task Bad_json_bodies_are_bad_requests_with_their_reason(string path, string body, string reason)
    {
        await AssertRefusedAsync(PostJson(path, body), HttpStatusCode.BadRequest, reason);
    }

    [Fact]
    public async Task A_ciphertext_in_the_wrong_form_says_which_form_to_use()
    {
        using var encryptor = _keys.CreateEncryptor();

        var whole = await AssertRefusedAsync(PostJson("/decrypt", $$"""["cl:{{Base64Url.EncodeToString(encryptor.Encrypt([1, 2], PlaintextKind.Bytes))}}"]"""), HttpStatusCode.BadRequest, "wrong_form");
        var leaf = await AssertRefusedAsync(PostBytes("/decrypt", encryptor.Encrypt("a leaf"u8, PlaintextKind.String)), HttpStatusCode.BadRequest, "wrong_form");

        Assert.Contains("application/octet-stream", whole, StringComparison.Ordinal);
        Assert.Equal("the body is a JSON string leaf's ciphertext, not a whole body's; decrypt it inside a JSON document", leaf);
    }

    [Theory]
    [InlineData("/encrypt?leaves=numbers", "leaves=numbers: give leaves=strings (the default) or leaves=all, once")]
    [InlineData("/encrypt?leaves=all&leaves=all", "leaves=all,all: give leaves=strings (the default) or leaves=all, once")]
    [InlineData("/encrypt?leaves=", "leaves=: give leaves=strings (the default) or leaves=all, once")]
    [InlineData("/encrypt?role=pii", "unknown query parameter 'role'; /encrypt of JSON takes leaves=strings|all, and nothing else takes any")]
    [InlineData("/decrypt?leaves=all", "leaves applies to /encrypt of a JSON body, not to /decrypt of any body: it decrypts every ciphertext string")]
    public async Task Query_parameters_other_than_leaves_on_json_encrypt_are_refused(string path, string error)
    {
        using var response = await PostJson(path, "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal((error, null), await LocalApiHarness.ReadErrorAsync(response));
    }

    [Fact]
    public async Task Leaves_with_a_whole_body_is_refused()
    {
        using var response = await PostBytes("/encrypt?leaves=all", [1]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("leaves applies to /encrypt of a JSON body, not to /encrypt of a whole body", (await LocalApiHarness.ReadErrorAsync(response)).Error);
    }

    [Fact]
    public async Task The_cages_data_role_header_is_refused_by_name()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/encrypt") { Content = new StringContent("{\"a\":\"b\"}", Encoding.UTF8, "application/json") };
        request.Headers.Add("x-evervault-data-role", "pii");

        using var response = await _api.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("x-evervault-data-role (Cages' data roles) is not supported: Cloister ciphertexts have no role; remove the header", (await LocalApiHarness.ReadErrorAsync(response)).Error);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json; charset=utf-16")]
    public async Task Other_content_types_get_415(string contentType)
    {
        using var content = new ByteArrayContent("{}"u8.ToArray());
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        using var response = await _api.Client.PostAsync("/encrypt", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal($"/encrypt takes Content-Type application/json (or none) or application/octet-stream, not '{contentType}'", (await LocalApiHarness.ReadErrorAsync(response)).Error);
    }

    [Fact]
    public async Task Json_with_a_utf8_charset_is_json()
    {
        using var response = await _api.Client.PostAsync("/encrypt", new StringContent("{\"a\":\"b\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Other_methods_get_405()
    {
        using var response = await _api.Client.GetAsync("/decrypt");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["POST"], response.Content.Headers.Allow);
    }

    [Fact]
    public async Task The_other_paths_are_listed_with_the_crypto_ones()
    {
        using var response = await PostJson("/encrypt/", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("no such endpoint; POST /attestation-doc, /encrypt, /decrypt", (await LocalApiHarness.ReadErrorAsync(response)).Error);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_whether_its_length_is_declared_or_not()
    {
        await using var api = await LocalApiHarness.StartAsync(new LocalApiOptions { Keys = _keys, MaxCryptoBodyLength = 1024 });

        using var declared = await api.Client.PostAsync("/encrypt", new ByteArrayContent(new byte[1025]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        using var chunked = await api.Client.PostAsync("/encrypt", new UnsizedContent(new byte[3000]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });
        using var atTheLimit = await api.Client.PostAsync("/encrypt", new ByteArrayContent(new byte[1024]) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal("the body is 1025 bytes; /encrypt takes at most 1024", (await LocalApiHarness.ReadErrorAsync(declared)).Error);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
        Assert.Equal("the body is over 1024 bytes, the most /encrypt takes", (await LocalApiHarness.ReadErrorAsync(chunked)).Error);
        Assert.Equal(HttpStatusCode.OK, atTheLimit.StatusCode);
    }

    [Fact]
    public async Task A_json_answer_is_bounded_too_though_its_body_is_within_the_limit()
    {
        await using var api = await LocalApiHarness.StartAsync(new LocalApiOptions { Keys = _keys, MaxCryptoBodyLength = 1024 });
        var emptyStrings = "[" + string.Join(',', Enumerable.Repeat("\"\"", 300)) + "]";

        using var response = await api.Client.PostAsync("/encrypt", new StringContent(emptyStrings, Encoding.UTF8, "application/json"));
        using var fewer = await api.Client.PostAsync("/encrypt", new StringContent("[\"\",\"\"]", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("the answer of /encrypt would be over 4096 bytes (4 times the body limit); send the document in parts", (await LocalApiHarness.ReadErrorAsync(response)).Error);
        Assert.Equal(HttpStatusCode.OK, fewer.StatusCode);
    }

    [Fact]
    public async Task The_attestation_doc_keeps_its_own_smaller_limit()
    {
        using var response = await _api.Client.PostAsync(LocalApiServer.AttestationDocPath, new StringContent($$"""{"nonce":"{{new string('A', 20_000)}}"}"""));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_request_beyond_the_concurrency_bound_gets_503_with_retry_after()
    {
        await using var api = await LocalApiHarness.StartAsync(new LocalApiOptions { Keys = _keys, MaxConcurrentCryptoRequests = 1 });
        using var held = new TcpClient();
        await held.ConnectAsync(IPAddress.Loopback, api.Port);
        var stream = held.GetStream();
        var body = "{\"a\":\"b\"}"u8.ToArray();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /encrypt HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nExpect: 100-continue\r\n\r\n"));

        // Kestrel sends 100 Continue when the handler first reads the body, which it does holding the only slot.
        Assert.StartsWith("HTTP/1.1 100 Continue", await ReadHeadAsync(stream), StringComparison.Ordinal);
        using var refused = await api.Client.PostAsync("/decrypt", new StringContent("{}", Encoding.UTF8, "application/json"));
        await stream.WriteAsync(body);
        var held200 = await ReadHeadAsync(stream);
        using var after = await api.Client.PostAsync("/decrypt", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("1 crypto requests are in progress, the most this enclave serves at once; retry", (await LocalApiHarness.ReadErrorAsync(refused)).Error);
        Assert.StartsWith("HTTP/1.1 200 OK", held200, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    private static int KeyVersion(byte[] ciphertext) => (int)BinaryPrimitives.ReadUInt32BigEndian(ciphertext.AsSpan(11));

    private static byte[] Decode(string text) => Base64Url.DecodeFromChars(text.AsSpan(3));

    private DeploymentKey V1() => DeploymentKey.Import(1, _v1PrivateKey, _v1DataKey);

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !head[^4..].SequenceEqual("\r\n\r\n"u8.ToArray()))
        {
            Assert.Equal(1, await stream.ReadAsync(one));
            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }

    private static async Task<string> AssertRefusedAsync(Task<HttpResponseMessage> sending, HttpStatusCode status, string reason)
    {
        using var response = await sending;
        Assert.Equal(status, response.StatusCode);
        var (error, actual) = await LocalApiHarness.ReadErrorAsync(response);
        Assert.Equal(reason, actual);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        return error;
    }

    private Task<HttpResponseMessage> PostJson(string path, string json) =>
        _api.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> PostBytes(string path, byte[] body) =>
        _api.Client.PostAsync(path, new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } });

    private async Task<string> PostJsonAsync(string path, string json)
    {
        using var response = await PostJson(path, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return body;
    }

    private async Task<byte[]> PostBytesAsync(string path, byte[] body)
    {
        using var response = await PostBytes(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsByteArrayAsync();
    }

    // Sent chunked: no Content-Length, so only the bytes as they arrive can exceed the limit.
    private sealed class UnsizedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
