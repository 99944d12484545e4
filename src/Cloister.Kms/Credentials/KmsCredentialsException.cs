namespace Cloister.Kms.Credentials;

/// <summary>No AWS credentials could be had (from the host's vsock 7004, or the host's own chain); the message is one line naming why.</summary>
public sealed class KmsCredentialsException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why, in one line.</param>
    /// <param name="innerException">The cause, if any.</param>
    public KmsCredentialsException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
