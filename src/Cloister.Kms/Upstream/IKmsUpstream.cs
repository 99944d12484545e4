namespace Cloister.Kms.Upstream;

/// <summary>One KMS call as the proxy forwards it: the action's full target and the JSON body (already rewritten).</summary>
/// <param name="Target">The <c>X-Amz-Target</c> value, e.g. <c>TrentService.Decrypt</c>.</param>
/// <param name="Body">The <c>application/x-amz-json-1.1</c> body.</param>
public sealed record KmsCall(string Target, ReadOnlyMemory<byte> Body);

/// <summary>What KMS answered: its status code and body (JSON on success and on KMS errors).</summary>
/// <param name="StatusCode">The HTTP status code.</param>
/// <param name="Body">The whole body, bounded by the upstream.</param>
/// <param name="ContentType">The <c>Content-Type</c>, when KMS sent one.</param>
public sealed record KmsReply(int StatusCode, byte[] Body, string? ContentType);

/// <summary>
/// Sends calls to AWS KMS: signed with SigV4 (service <c>kms</c>) with the host's credentials, over TLS end to end
/// through the enclave's egress path, the endpoint's chain checked against the configured roots.
/// </summary>
public interface IKmsUpstream
{
    /// <summary>Sends <paramref name="kmsCall"/> and reads KMS's whole answer.</summary>
    /// <param name="kmsCall">The call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>KMS's answer, whatever its status.</returns>
    /// <exception cref="KmsUpstreamException">KMS could not be reached or asked: no credentials, no tunnel, a TLS failure, a timeout, an oversized answer.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<KmsReply> SendAsync(KmsCall kmsCall, CancellationToken cancellationToken);
}

/// <summary>KMS could not be reached or asked; the message is one line naming why.</summary>
public sealed class KmsUpstreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why, in one line.</param>
    /// <param name="innerException">The cause, if any.</param>
    public KmsUpstreamException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
