using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Cloister.Kms.Recipients;
using Cloister.Kms.Upstream;

namespace Cloister.Kms.Proxy;

/// <summary>
/// The KMS proxy's core, without an HTTP server (docs/kms.md, "The proxy's wire"): checks the app's call against the
/// policy, adds a <c>Recipient</c> with an attestation document to the five Recipient operations, sends the call to
/// KMS, and answers the plaintext KMS encrypted to the enclave's recipient key in the field the SDK reads. Thread-safe.
/// </summary>
public sealed class KmsProxy : IDisposable
{
    private const string CiphertextForRecipient = "CiphertextForRecipient";

    private readonly KmsProxyPolicy _policy;
    private readonly IKmsUpstream _upstream;
    private readonly RecipientKeyCache _keys;

    /// <summary>Creates the proxy.</summary>
    /// <param name="policy">The actions and keys allowed.</param>
    /// <param name="attest">
    /// Returns the NSM's attestation document (the raw COSE_Sign1) whose <c>public_key</c> is the given DER
    /// SubjectPublicKeyInfo; throws <see cref="IOException"/> when the NSM gives none.
    /// </param>
    /// <param name="upstream">Sends the calls to KMS.</param>
    /// <param name="options">Recipient key reuse; null for the defaults.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The key's maximum uses is not positive.</exception>
    public KmsProxy(KmsProxyPolicy policy, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> attest, IKmsUpstream upstream, KmsProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(attest);
        ArgumentNullException.ThrowIfNull(upstream);
        options ??= new KmsProxyOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.RecipientKeyMaxUses);
        _policy = policy;
        _upstream = upstream;
        _keys = new RecipientKeyCache(attest, options.RecipientKeyLifetime, options.RecipientKeyMaxUses, options.Time);
    }

    /// <summary>Answers one call of the app.</summary>
    /// <param name="target">The <c>X-Amz-Target</c> header, e.g. <c>TrentService.Decrypt</c>, or null when absent.</param>
    /// <param name="body">The JSON body.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>
    /// KMS's answer, with the plaintext in place of <c>CiphertextForRecipient</c> for the Recipient operations; KMS's
    /// errors unchanged; or the proxy's own error (<see cref="KmsProxyAnswer.Failure"/>).
    /// </returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<KmsProxyAnswer> HandleAsync(string? target, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        try
        {
            var request = KmsRequest.Parse(target, body, _policy);
            if (!KmsRequest.RecipientActions.TryGetValue(request.Action, out var plaintextField))
            {
                var reply = await SendAsync(new KmsCall(target!, body), cancellationToken);
                return new KmsProxyAnswer(reply.StatusCode, reply.Body, reply.ContentType ?? KmsProxyAnswer.JsonContentType, null, null);
            }

            using var lease = await AcquireKeyAsync(cancellationToken);
            var answer = await SendAsync(new KmsCall(target!, request.WithRecipient(lease.DocumentBase64)), cancellationToken);
            if (answer.StatusCode != 200)
            {
                return new KmsProxyAnswer(answer.StatusCode, answer.Body, answer.ContentType ?? KmsProxyAnswer.JsonContentType, null, null);
            }

            return new KmsProxyAnswer(200, Rewrite(request, answer.Body, lease.Key, plaintextField), KmsProxyAnswer.JsonContentType, null, null);
        }
        catch (KmsProxyException ex)
        {
            return KmsProxyAnswer.Error(ex.Failure, ex.Message);
        }
    }

    /// <summary>Releases the recipient key.</summary>
    public void Dispose() => _keys.Dispose();

    private async Task<RecipientKeyCache.Lease> AcquireKeyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _keys.AcquireAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            throw new KmsProxyException(KmsProxyFailure.AttestationUnavailable, $"no attestation document for the recipient key: {ex.Message}");
        }
    }

    private async Task<KmsReply> SendAsync(KmsCall call, CancellationToken cancellationToken)
    {
        try
        {
            return await _upstream.SendAsync(call, cancellationToken);
        }
        catch (KmsUpstreamException ex)
        {
            throw new KmsProxyException(KmsProxyFailure.KmsUnreachable, $"KMS could not be asked: {ex.Message}");
        }
    }

    // KMS's answer, every field kept in order but CiphertextForRecipient, and the plaintext added as the last field.
    private byte[] Rewrite(KmsRequest request, byte[] answer, RecipientKey key, string plaintextField)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(answer);
        }
        catch (JsonException ex)
        {
            throw new KmsProxyException(KmsProxyFailure.AnswerMalformed, $"KMS's {request.Action} answer is not JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new KmsProxyException(KmsProxyFailure.AnswerMalformed, $"KMS's {request.Action} answer is a JSON {root.ValueKind}, not an object");
            }

            byte[] plaintext;
            try
            {
                CheckKeyId(request, root);
                plaintext = Decrypt(request, root, key);
            }
            catch (InvalidOperationException ex)
            {
                // GetString refuses a value that is not text (a lone surrogate escaped).
                throw new KmsProxyException(KmsProxyFailure.AnswerMalformed, $"KMS's {request.Action} answer has a field that is not text: {ex.Message}");
            }

            var buffer = new ArrayBufferWriter<byte>(answer.Length + (plaintext.Length * 2) + 64);
            try
            {
                // The answer goes to an SDK, never into HTML: base64's + and / stay as they are.
                using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    json.WriteStartObject();
                    foreach (var property in root.EnumerateObject())
                    {
                        if (!property.NameEquals(CiphertextForRecipient) && !property.NameEquals(plaintextField))
                        {
                            property.WriteTo(json);
                        }
                    }

                    json.WriteBase64String(plaintextField, plaintext);
                    json.WriteEndObject();
                }

                return buffer.WrittenSpan.ToArray();
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
                // Clear zeroes what was written (the base64 plaintext), ResetWrittenCount would not.
                buffer.Clear();
            }
        }
    }

    private void CheckKeyId(KmsRequest request, JsonElement root)
    {
        if (request.KeyId is not { } asked)
        {
            return;
        }

        if (!root.TryGetProperty("KeyId", out var keyId) || keyId.ValueKind != JsonValueKind.String)
        {
            throw new KmsProxyException(KmsProxyFailure.AnswerMalformed, $"KMS's {request.Action} answer has no KeyId");
        }

        var answered = keyId.GetString()!;
        if (!KmsKeyIds.IsAnswerFor(asked, answered, _policy.Region))
        {
            throw new KmsProxyException(KmsProxyFailure.KeySubstituted, $"KMS answered {request.Action} with key '{answered}', which is not the key asked for ('{asked}')");
        }
    }

    private static byte[] Decrypt(KmsRequest request, JsonElement root, RecipientKey key)
    {
        if (!root.TryGetProperty(CiphertextForRecipient, out var field) || field.ValueKind != JsonValueKind.String)
        {
            throw new KmsProxyException(KmsProxyFailure.AnswerMalformed, $"KMS's {request.Action} answer has no {CiphertextForRecipient}");
        }

        var encoded = field.GetString()!;
        if (encoded.Length > Base64.GetMaxEncodedToUtf8Length(RecipientKey.MaxCiphertextLength))
        {
            throw new KmsProxyException(KmsProxyFailure.AnswerUndecryptable, $"KMS's {CiphertextForRecipient} is {encoded.Length} base64 characters, over the {RecipientKey.MaxCiphertextLength} bytes read");
        }

        byte[] cms;
        try
        {
            cms = Convert.FromBase64String(encoded);
        }
        catch (FormatException)
        {
            throw new KmsProxyException(KmsProxyFailure.AnswerMalformed, $"KMS's {CiphertextForRecipient} is not base64");
        }

        try
        {
            return key.Decrypt(cms);
        }
        catch (RecipientCiphertextException ex)
        {
            var failure = ex.Failure == RecipientCiphertextFailure.OtherRecipient ? KmsProxyFailure.RecipientMismatch : KmsProxyFailure.AnswerUndecryptable;
            throw new KmsProxyException(failure, $"KMS's {CiphertextForRecipient} is refused: {ex.Message}");
        }
    }
}
