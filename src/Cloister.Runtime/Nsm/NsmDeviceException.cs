namespace Cloister.Runtime.Nsm;

/// <summary>The NSM device refused or failed an exchange.</summary>
public sealed class NsmDeviceException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">What failed.</param>
    /// <param name="message">The message, naming the sizes or errno involved.</param>
    public NsmDeviceException(NsmDeviceError error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>What failed.</summary>
    public NsmDeviceError Error { get; }
}
