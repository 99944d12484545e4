namespace Cloister.Enclave.Apps;

/// <summary>
/// The app cannot be started as the image describes it (unknown USER, missing executable or WORKDIR). <see cref="ExitCode"/>
/// follows the shells' convention: 127 when the program is not there, 126 when it is but cannot be run.
/// </summary>
internal sealed class AppLaunchException : Exception
{
    public const int NotFound = 127;

    public const int CannotRun = 126;

    public AppLaunchException(string message, int exitCode = CannotRun, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    public AppLaunchException()
        : this("the app cannot be started")
    {
    }

    public AppLaunchException(string message)
        : this(message, CannotRun)
    {
    }

    public AppLaunchException(string message, Exception innerException)
        : this(message, CannotRun, innerException)
    {
    }

    public int ExitCode { get; }
}
