using System.Text;
using System.Text.Json;
using Cloister.Kms.Proxy;
using Cloister.Kms.Recipients;
using Cloister.Kms.Upstream;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Kms.Tests.Proxy;

public sealed class KmsProxyTests : IDisposable
{
    private static readonly string[] s_recipientActions = ["Decrypt", "GenerateDataKey", "GenerateDataKeyPair", "DeriveSharedSecret", "GenerateRandom"];

    private static readonly Lazy<RecipientKey> s_other = new(() => new RecipientKey());

    private readonly KmsDouble _kms = new();
    private readonly FakeTimeProvider _time = new();
    private readonly List<KmsProxy> _proxies = [];

    public static TheoryData<string, string> AnswerFields => new()
    {
        { "Decrypt", "Plaintext" },
        { "GenerateDataKey", "Plaintext" },
        { "GenerateRandom", "Plaintext" },
        { "GenerateDataKeyPair", "PrivateKeyPlaintext" },
        { "DeriveSharedSecret", "SharedSecret" },
    };

    public void Dispose()
    {
        foreach (var proxy in _proxies)
        {
            proxy.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(AnswerFields))]
    public async Task Each_Recipient_operation_answers_the_plaintext_in_its_field_without_CiphertextForRecipient(string action, string field)
    {
        var proxy = Proxy();
        _kms.Plaintext = Encoding.ASCII.GetBytes($"secret of {action}");
        var body = action == "GenerateRandom" ? """{"NumberOfBytes":32}""" : $$"""{"KeyId":"{{KmsDouble.KeyArn}}"}""";

        var answer = await proxy.HandleAsync($"TrentService.{action}", Encoding.UTF8.GetBytes(body), default);

        Assert.Equal(200, answer.StatusCode);
        Assert.Null(answer.Failure);
        Assert.Equal("application/x-amz-json-1.1", answer.ContentType);
        using var json = JsonDocument.Parse(answer.Body);
        Assert.Equal(_kms.Plaintext, json.RootElement.GetProperty(field).GetBytesFromBase64());
        Assert.False(json.RootElement.TryGetProperty("CiphertextForRecipient", out _));
        var names = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(field, names[^1]);
        if (action != "GenerateRandom")
        {
            Assert.Equal(KmsDouble.KeyArn, json.RootElement.GetProperty("KeyId").GetString());
        }
    }

    [Fact]
    public async Task KMS_answer_fields_other_than_CiphertextForRecipient_are_kept()
    {
        var answer = await Proxy().HandleAsync("TrentService.GenerateDataKeyPair", Encoding.UTF8.GetBytes($$"""{"KeyId":"{{KmsDouble.KeyArn}}","KeyPairSpec":"ECC_NIST_P256"}"""), default);

        using var json = JsonDocument.Parse(answer.Body);
        Assert.Equal(
            ["KeyPairSpec", "PrivateKeyCiphertextBlob", "PublicKey", "KeyId", "PrivateKeyPlaintext"],
            json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("MFkwEwYHKoZIzj0CAQ==", json.RootElement.GetProperty("PublicKey").GetString());
    }

    [Fact]
    public async Task The_request_keeps_every_byte_of_the_app_and_gains_the_Recipient()
    {
        var proxy = Proxy();
        var body = $$"""{ "KeyId" : "{{KmsDouble.KeyArn}}", "EncryptionContext": {"b":"2", "a" : "\u00e9\/"},"CiphertextBlob":"AQID" }  """;

        await proxy.HandleAsync("TrentService.Decrypt", Encoding.UTF8.GetBytes(body), default);

        var sent = Encoding.UTF8.GetString(Assert.Single(_kms.Calls).Body.Span);
        var close = body.LastIndexOf('}');
        Assert.StartsWith(body[..close] + ",\"Recipient\":{\"AttestationDocument\":\"", sent, StringComparison.Ordinal);
        Assert.EndsWith("\",\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\"}" + body[close..], sent, StringComparison.Ordinal);
        Assert.Equal("TrentService.Decrypt", _kms.Calls[0].Target);
    }

    [Fact]
    public async Task The_Recipient_document_is_the_attesters_for_the_key_that_decrypts()
    {
        var attested = new List<byte[]>();
        var proxy = Proxy(attest: (spki, ct) =>
        {
            attested.Add(spki.ToArray());
            return KmsDouble.Attest(spki, ct);
        });

        await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);

        var document = KmsDouble.DocumentOf(Assert.Single(_kms.Calls));
        Assert.Equal(Assert.Single(attested), KmsDouble.SpkiOf(document));
        Assert.EndsWith("{\"Recipient\":", Encoding.UTF8.GetString(_kms.Calls[0].Body.Span)[..13], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_allowed_actions_are_forwarded_unchanged_and_answered_unchanged()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"KeyId":"{{KmsDouble.KeyArn}}","Plaintext":"AQID"}""");
        var reply = """{"CiphertextBlob":"AQID","KeyId":"whatever"}"""u8.ToArray();
        _kms.Answer = (200, reply);

        var answer = await Proxy().HandleAsync("TrentService.Encrypt", body, default);

        Assert.Equal(body, Assert.Single(_kms.Calls).Body.ToArray());
        Assert.Equal(200, answer.StatusCode);
        Assert.Equal(reply, answer.Body);
        Assert.Null(answer.ErrorType);
    }

    [Fact]
    public async Task KMS_errors_pass_through_unchanged()
    {
        var reply = """{"__type":"InvalidCiphertextException","message":"context mismatch"}"""u8.ToArray();
        _kms.Answer = (400, reply);

        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        Assert.Equal(400, answer.StatusCode);
        Assert.Equal(reply, answer.Body);
        Assert.Null(answer.Failure);
    }

    [Fact]
    public async Task An_action_not_allowed_is_AccessDenied_and_never_sent()
    {
        var answer = await Proxy().HandleAsync("TrentService.ScheduleKeyDeletion", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.ActionNotAllowed, 400, "AccessDeniedException", "ScheduleKeyDeletion is not in kms_proxy.allow");
    }

    [Theory]
    [InlineData("Decrypt")]
    [InlineData("Encrypt")]
    public async Task A_key_not_allowed_is_AccessDenied(string action)
    {
        var answer = await Proxy().HandleAsync($"TrentService.{action}", Key(KmsDouble.OtherKeyArn), default);

        AssertError(answer, KmsProxyFailure.KeyNotAllowed, 400, "AccessDeniedException", $"KeyId '{KmsDouble.OtherKeyArn}' is not in kms_proxy.keys");
    }

    [Fact]
    public async Task A_key_allowed_only_in_another_case_is_AccessDenied()
    {
        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn.ToUpperInvariant()), default);

        AssertError(answer, KmsProxyFailure.KeyNotAllowed, 400, "AccessDeniedException", "is not in kms_proxy.keys");
    }

    [Fact]
    public async Task Decrypt_without_KeyId_is_refused()
    {
        var answer = await Proxy().HandleAsync("TrentService.Decrypt", """{"CiphertextBlob":"AQID"}"""u8.ToArray(), default);

        AssertError(answer, KmsProxyFailure.MissingKeyId, 400, "ValidationException", "Decrypt must name its key in KeyId");
    }

    [Fact]
    public async Task ReEncrypt_needs_both_keys_allowed()
    {
        var proxy = Proxy(allow: ["ReEncrypt"]);
        var missing = await proxy.HandleAsync("TrentService.ReEncrypt", Encoding.UTF8.GetBytes($$"""{"DestinationKeyId":"{{KmsDouble.KeyArn}}"}"""), default);
        var other = await proxy.HandleAsync("TrentService.ReEncrypt", Encoding.UTF8.GetBytes($$"""{"SourceKeyId":"{{KmsDouble.KeyArn}}","DestinationKeyId":"{{KmsDouble.OtherKeyArn}}"}"""), default);

        AssertError(missing, KmsProxyFailure.MissingKeyId, 400, "ValidationException", "SourceKeyId");
        AssertError(other, KmsProxyFailure.KeyNotAllowed, 400, "AccessDeniedException", "DestinationKeyId");
    }

    [Theory]
    [InlineData("""{"KeyId":"K","Recipient":{"AttestationDocument":"AA==","KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256"}}""")]
    [InlineData("""{"KeyId":"K","recipient":null}""")]
    [InlineData("""{"KeyId":"K","Recipi\u0065nt":{}}""")]
    public async Task An_app_supplied_Recipient_is_refused(string body)
    {
        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Encoding.UTF8.GetBytes(body.Replace("\"K\"", $"\"{KmsDouble.KeyArn}\"", StringComparison.Ordinal)), default);

        AssertError(answer, KmsProxyFailure.RecipientSupplied, 400, "ValidationException", "the body has a Recipient");
    }

    [Theory]
    [InlineData("""{"KeyId":"A","KeyId":"B"}""", "more than once")]
    [InlineData("""{"KeyId":"A","keyid":"B"}""", "more than once")]
    [InlineData("""{"KeyId":"A","K\u0065yId":"B"}""", "more than once")]
    [InlineData("""{"KeyId":["A"]}""", "KeyId is a JSON StartArray, not a string")]
    [InlineData("""["KeyId"]""", "not a JSON object")]
    [InlineData("""{"KeyId":"A"} {}""", "not valid JSON")]
    [InlineData("""{"KeyId":"A",}""", "not valid JSON")]
    [InlineData("""{"KeyId":"A" """, "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("""{"KeyId":"A","x\ud800":1}""", "not valid JSON text")]
    [InlineData("""{"KeyId":"\udc00"}""", "not valid JSON text")]
    [InlineData("""{"KeyId":"A"} // comment""", "not valid JSON")]
    public async Task A_body_KMS_might_read_otherwise_is_refused(string body, string reason)
    {
        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Encoding.UTF8.GetBytes(body.Replace("\"A\"", $"\"{KmsDouble.KeyArn}\"", StringComparison.Ordinal)), default);

        AssertError(answer, KmsProxyFailure.NotKmsRequest, 400, "ValidationException", reason);
    }

    [Fact]
    public async Task A_body_that_is_not_UTF8_is_refused()
    {
        var answer = await Proxy().HandleAsync("TrentService.Decrypt", (byte[])[.. "{\"KeyId\":\""u8, 0xff, .. "\"}"u8], default);

        AssertError(answer, KmsProxyFailure.NotKmsRequest, 400, "ValidationException", "not valid JSON");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Decrypt")]
    [InlineData("TrentService.")]
    [InlineData("OtherService.Decrypt")]
    public async Task A_target_that_is_not_TrentService_ACTION_is_refused(string? target)
    {
        var answer = await Proxy().HandleAsync(target, Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.NotKmsRequest, 400, "ValidationException", "X-Amz-Target is");
    }

    [Fact]
    public async Task KMS_unreachable_is_DependencyTimeout()
    {
        _kms.Failure = new KmsUpstreamException("no credentials from the host (vsock 7004): connection refused");

        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.KmsUnreachable, 503, "DependencyTimeoutException", "no credentials from the host");
    }

    [Fact]
    public async Task No_attestation_document_is_an_internal_error()
    {
        var answer = await Proxy(attest: (_, _) => throw new IOException("NSM answered InvalidArgument")).HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.AttestationUnavailable, 500, "KMSInternalException", "NSM answered InvalidArgument");
        Assert.Empty(_kms.Calls);
    }

    [Theory]
    [InlineData(KmsDouble.KeyArn, KmsDouble.OtherKeyArn)]
    [InlineData(KmsDouble.AliasArn, "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData(KmsDouble.AliasArn, "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData(KmsDouble.AliasName, "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData(KmsDouble.AliasName, "arn:aws:kms:us-east-1:111122223333:alias/payments")]
    [InlineData(KmsDouble.AliasName, "1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData("1234abcd-12ab-34cd-56ef-1234567890ab", KmsDouble.OtherKeyArn)]
    public async Task An_answer_for_another_key_is_refused(string asked, string answered)
    {
        _kms.AnswerKeyId = answered;

        var answer = await Proxy(keys: [asked]).HandleAsync("TrentService.GenerateDataKey", Key(asked), default);

        AssertError(answer, KmsProxyFailure.KeySubstituted, 502, "KMSProxyResponseRefusedException", $"with key '{answered}', which is not the key asked for ('{asked}')");
    }

    [Theory]
    [InlineData(KmsDouble.KeyArn, KmsDouble.KeyArn)]
    [InlineData(KmsDouble.AliasArn, KmsDouble.OtherKeyArn)]
    [InlineData(KmsDouble.AliasName, "arn:aws:kms:us-east-1:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321")]
    [InlineData("1234abcd-12ab-34cd-56ef-1234567890ab", KmsDouble.KeyArn)]
    public async Task An_answer_for_the_key_asked_for_is_accepted(string asked, string answered)
    {
        _kms.AnswerKeyId = answered;

        var answer = await Proxy(keys: [asked]).HandleAsync("TrentService.Decrypt", Key(asked), default);

        Assert.Equal(200, answer.StatusCode);
    }

    [Fact]
    public async Task An_answer_without_KeyId_is_refused()
    {
        _kms.Answer = (200, """{"CiphertextForRecipient":"AA=="}"""u8.ToArray());

        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.AnswerMalformed, 502, "KMSProxyResponseRefusedException", "has no KeyId");
    }

    [Theory]
    [InlineData("""{"KeyId":"K"}""", "has no CiphertextForRecipient")]
    [InlineData("""{"KeyId":"K","CiphertextForRecipient":5}""", "has no CiphertextForRecipient")]
    [InlineData("""{"KeyId":"K","CiphertextForRecipient":"not base64!"}""", "is not base64")]
    [InlineData("""[1]""", "is a JSON Array, not an object")]
    [InlineData("""<html>""", "is not JSON")]
    [InlineData("""{"KeyId":"\ud800","CiphertextForRecipient":"AA=="}""", "has a field that is not text")]
    public async Task A_success_answer_that_is_not_KMSs_is_refused(string reply, string reason)
    {
        _kms.Answer = (200, Encoding.UTF8.GetBytes(reply.Replace("\"K\"", $"\"{KmsDouble.KeyArn}\"", StringComparison.Ordinal)));

        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.AnswerMalformed, 502, "KMSProxyResponseRefusedException", reason);
    }

    [Fact]
    public async Task A_recipient_ciphertext_for_another_key_is_refused()
    {
        _kms.EncryptTo = s_other.Value.SubjectPublicKeyInfo;

        var answer = await Proxy().HandleAsync("TrentService.GenerateDataKey", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.RecipientMismatch, 502, "KMSProxyResponseRefusedException", "OtherRecipient");
    }

    [Fact]
    public async Task A_recipient_ciphertext_for_an_earlier_key_of_the_proxy_is_refused()
    {
        // Each call decrypts with the key its own request carried: an answer replayed from an earlier window is not.
        var proxy = Proxy(lifetime: TimeSpan.Zero);
        await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);
        _kms.EncryptTo = KmsDouble.SpkiOf(KmsDouble.DocumentOf(_kms.Calls[0]));

        var answer = await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);

        AssertError(answer, KmsProxyFailure.RecipientMismatch, 502, "KMSProxyResponseRefusedException", "for another key");
    }

    [Theory]
    [InlineData("MIIB")]
    [InlineData("AAAA")]
    public async Task An_undecryptable_recipient_ciphertext_is_refused(string base64)
    {
        _kms.RecipientCiphertext = base64;

        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.AnswerUndecryptable, 502, "KMSProxyResponseRefusedException", "Malformed");
    }

    [Fact]
    public async Task An_oversized_recipient_ciphertext_is_refused_undecoded()
    {
        _kms.RecipientCiphertext = new string('A', 100_000);

        var answer = await Proxy().HandleAsync("TrentService.Decrypt", Key(KmsDouble.KeyArn), default);

        AssertError(answer, KmsProxyFailure.AnswerUndecryptable, 502, "KMSProxyResponseRefusedException", "over the 65536 bytes read");
    }

    [Fact]
    public async Task One_key_and_document_serve_calls_for_the_window_then_a_new_one()
    {
        var attested = 0;
        var proxy = Proxy(attest: (spki, ct) =>
        {
            attested++;
            return KmsDouble.Attest(spki, ct);
        });

        await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);
        _time.Advance(TimeSpan.FromSeconds(59));
        await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);
        _time.Advance(TimeSpan.FromSeconds(1));
        var third = await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);

        Assert.Equal(2, attested);
        var documents = _kms.Calls.Select(KmsDouble.DocumentOf).ToList();
        Assert.Equal(documents[0], documents[1]);
        Assert.NotEqual(documents[1], documents[2]);
        Assert.Equal(200, third.StatusCode);
    }

    [Fact]
    public async Task One_key_serves_at_most_its_maximum_uses()
    {
        var proxy = Proxy(maxUses: 2);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(200, (await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default)).StatusCode);
        }

        var documents = _kms.Calls.Select(KmsDouble.DocumentOf).ToList();
        Assert.Equal(documents[0], documents[1]);
        Assert.NotEqual(documents[1], documents[2]);
    }

    [Fact]
    public async Task A_lifetime_of_zero_makes_a_fresh_key_per_call()
    {
        var proxy = Proxy(lifetime: TimeSpan.Zero);

        await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);
        await proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default);

        Assert.NotEqual(KmsDouble.DocumentOf(_kms.Calls[0]), KmsDouble.DocumentOf(_kms.Calls[1]));
    }

    [Fact]
    public async Task Concurrent_calls_across_a_key_replacement_all_decrypt()
    {
        var proxy = Proxy(maxUses: 3);

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => proxy.HandleAsync("TrentService.GenerateRandom", "{}"u8.ToArray(), default))));

        Assert.All(answers, a => Assert.Equal(200, a.StatusCode));
        Assert.True(_kms.Calls.Select(c => Convert.ToHexString(KmsDouble.DocumentOf(c))).Distinct().Count() >= 7);
    }

    [Fact]
    public void Every_failure_has_a_status_and_a_KMS_error_type()
    {
        foreach (var failure in Enum.GetValues<KmsProxyFailure>())
        {
            var answer = KmsProxyAnswer.Error(failure, "why");
            using var json = JsonDocument.Parse(answer.Body);
            Assert.Equal(answer.ErrorType, json.RootElement.GetProperty("__type").GetString());
            Assert.EndsWith("Exception", answer.ErrorType, StringComparison.Ordinal);
            Assert.Equal("cloister kms_proxy: why", json.RootElement.GetProperty("message").GetString());
            Assert.InRange(answer.StatusCode, 400, 599);
        }
    }

    private static byte[] Key(string keyId) => Encoding.UTF8.GetBytes($$"""{"KeyId":"{{keyId}}","CiphertextBlob":"AQID"}""");

    private static void AssertError(KmsProxyAnswer answer, KmsProxyFailure failure, int status, string type, string reason)
    {
        Assert.Equal(failure, answer.Failure);
        Assert.Equal(status, answer.StatusCode);
        Assert.Equal(type, answer.ErrorType);
        Assert.Equal("application/x-amz-json-1.1", answer.ContentType);
        using var json = JsonDocument.Parse(answer.Body);
        Assert.Equal(type, json.RootElement.GetProperty("__type").GetString());
        var message = json.RootElement.GetProperty("message").GetString()!;
        Assert.StartsWith("cloister kms_proxy: ", message, StringComparison.Ordinal);
        Assert.Contains(reason, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    private KmsProxy Proxy(
        string[]? allow = null,
        string[]? keys = null,
        Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>? attest = null,
        TimeSpan? lifetime = null,
        long maxUses = 10_000)
    {
        var proxy = new KmsProxy(
            new KmsProxyPolicy(KmsDouble.Region, allow ?? [.. s_recipientActions, "Encrypt"], keys ?? [KmsDouble.KeyArn, KmsDouble.AliasArn, KmsDouble.AliasName]),
            attest ?? KmsDouble.Attest,
            _kms,
            new KmsProxyOptions { RecipientKeyLifetime = lifetime ?? TimeSpan.FromSeconds(60), RecipientKeyMaxUses = maxUses, Time = _time });
        _proxies.Add(proxy);
        return proxy;
    }
}
