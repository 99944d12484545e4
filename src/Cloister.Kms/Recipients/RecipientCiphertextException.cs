namespace Cloister.Kms.Recipients;

/// <summary>KMS's <c>CiphertextForRecipient</c> could not be decrypted; <see cref="Failure"/> says why.</summary>
public sealed class RecipientCiphertextException : Exception
{
    /// <summary>Creates the exception for a problem found at a byte offset of the ciphertext.</summary>
    /// <param name="failure">Why decryption failed.</param>
    /// <param name="offset">The byte offset in the ciphertext of the field at fault.</param>
    /// <param name="detail">A sentence naming the field and the value seen.</param>
    /// <param name="innerException">The cause, if any.</param>
    public RecipientCiphertextException(RecipientCiphertextFailure failure, long offset, string detail, Exception? innerException = null)
        : base($"recipient ciphertext ({failure}) at byte offset {offset}: {detail}", innerException)
    {
        Failure = failure;
        Offset = offset;
    }

    /// <summary>Why decryption failed.</summary>
    public RecipientCiphertextFailure Failure { get; }

    /// <summary>The byte offset in the ciphertext of the field at fault.</summary>
    public long Offset { get; }
}
