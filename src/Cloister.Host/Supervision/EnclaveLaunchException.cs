namespace Cloister.Host.Supervision;

/// <summary>An enclave could not be prepared or started; the message says why, for the user.</summary>
public sealed class EnclaveLaunchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EnclaveLaunchException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the launch failed.</param>
    public EnclaveLaunchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the launch failed.</param>
    /// <param name="innerException">The cause.</param>
    public EnclaveLaunchException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
