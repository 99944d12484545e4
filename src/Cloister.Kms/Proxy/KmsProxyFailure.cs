namespace Cloister.Kms.Proxy;

/// <summary>Every way the KMS proxy refuses a call or KMS's answer to it; <see cref="KmsProxyFailures.Describe"/> gives its status and KMS error type.</summary>
public enum KmsProxyFailure
{
    /// <summary>The action is not in <c>kms_proxy.allow</c> (400 AccessDeniedException).</summary>
    ActionNotAllowed,

    /// <summary>A key the call names is not in <c>kms_proxy.keys</c> (400 AccessDeniedException).</summary>
    KeyNotAllowed,

    /// <summary>Not a KMS JSON call: no <c>TrentService.</c> target, a body that is not one JSON object, a repeated field, a key field that is not a string (400 ValidationException).</summary>
    NotKmsRequest,

    /// <summary>A keyed call names no key (<c>KeyId</c>, also for <c>Decrypt</c>) (400 ValidationException).</summary>
    MissingKeyId,

    /// <summary>The app supplied a <c>Recipient</c>; only the proxy adds one (400 ValidationException).</summary>
    RecipientSupplied,

    /// <summary>The body is over the proxy's bound (413 ValidationException).</summary>
    BodyTooLarge,

    /// <summary>A path other than <c>/</c> (404 UnknownOperationException).</summary>
    NotFound,

    /// <summary>A method other than POST (405 UnknownOperationException).</summary>
    MethodNotAllowed,

    /// <summary>Too many calls in progress (503 ThrottlingException).</summary>
    Busy,

    /// <summary>The NSM gave no attestation document (500 KMSInternalException).</summary>
    AttestationUnavailable,

    /// <summary>KMS could not be reached or asked (503 DependencyTimeoutException).</summary>
    KmsUnreachable,

    /// <summary>KMS's answer names another key than the one asked for (502 KMSProxyResponseRefusedException).</summary>
    KeySubstituted,

    /// <summary>KMS's recipient ciphertext is addressed to another key than this request's (502 KMSProxyResponseRefusedException).</summary>
    RecipientMismatch,

    /// <summary>KMS's recipient ciphertext does not decrypt, or is not the CMS form KMS writes (502 KMSProxyResponseRefusedException).</summary>
    AnswerUndecryptable,

    /// <summary>KMS's success answer is not the JSON the action answers: not an object, no <c>CiphertextForRecipient</c> or <c>KeyId</c> (502 KMSProxyResponseRefusedException).</summary>
    AnswerMalformed,
}

/// <summary>The HTTP status and KMS error type (<c>__type</c>, <c>x-amzn-ErrorType</c>) of each <see cref="KmsProxyFailure"/>.</summary>
public static class KmsProxyFailures
{
    /// <summary>The status and error type the app's SDK sees for <paramref name="failure"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="failure"/> is not a defined value.</exception>
    public static (int StatusCode, string ErrorType) Describe(KmsProxyFailure failure) => failure switch
    {
        KmsProxyFailure.ActionNotAllowed or KmsProxyFailure.KeyNotAllowed => (400, "AccessDeniedException"),
        KmsProxyFailure.NotKmsRequest or KmsProxyFailure.MissingKeyId or KmsProxyFailure.RecipientSupplied => (400, "ValidationException"),
        KmsProxyFailure.BodyTooLarge => (413, "ValidationException"),
        KmsProxyFailure.NotFound => (404, "UnknownOperationException"),
        KmsProxyFailure.MethodNotAllowed => (405, "UnknownOperationException"),
        KmsProxyFailure.Busy => (503, "ThrottlingException"),
        KmsProxyFailure.AttestationUnavailable => (500, "KMSInternalException"),
        KmsProxyFailure.KmsUnreachable => (503, "DependencyTimeoutException"),
        KmsProxyFailure.KeySubstituted or KmsProxyFailure.RecipientMismatch or KmsProxyFailure.AnswerUndecryptable or KmsProxyFailure.AnswerMalformed
            => (502, "KMSProxyResponseRefusedException"),
        _ => throw new ArgumentOutOfRangeException(nameof(failure), failure, "not a KmsProxyFailure"),
    };
}
