namespace Cloister.Encryption.Ciphertexts;

/// <summary>A ciphertext, or a JSON document holding some, could not be decrypted; <see cref="Failure"/> says why.</summary>
public sealed class CiphertextException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failure">Why decryption failed.</param>
    /// <param name="message">One line naming the field or the value at fault.</param>
    /// <param name="innerException">The cause, if any.</param>
    public CiphertextException(CiphertextFailure failure, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Failure = failure;
    }

    /// <summary>Why decryption failed.</summary>
    public CiphertextFailure Failure { get; }
}
