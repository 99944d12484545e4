namespace Cloister.Cli;

/// <summary>
/// An expected failure a command reports to the user: the message goes to stderr on one line, control characters
/// escaped (<see cref="TerminalText"/>), and the process exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class CommandFailedException(string message, int exitCode = ExitCodes.Invalid, Exception? inner = null)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;

    public static CommandFailedException Usage(string message) => new(message, ExitCodes.Usage);
}
