namespace Cloister.Host.Provisioning;

/// <summary>The provisioner could not be reached, did not prove its pinned key, or did not issue a token; the message is one line.</summary>
public sealed class ProvisionerUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, in one line.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ProvisionerUnavailableException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
