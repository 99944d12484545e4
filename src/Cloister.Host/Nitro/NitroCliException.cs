namespace Cloister.Host.Nitro;

/// <summary><c>nitro-cli</c> failed or answered something that is not its documented JSON.</summary>
public sealed class NitroCliException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NitroCliException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    public NitroCliException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public NitroCliException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
