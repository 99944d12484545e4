namespace Cloister.Cli;

/// <summary>The process exit codes every command shares.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked; a verification passed.</summary>
    public const int Success = 0;

    /// <summary>The input was read but is invalid, corrupt, or failed verification; the reason is on stderr.</summary>
    public const int Invalid = 1;

    /// <summary>The command line is wrong: unknown option, bad value, or a named file that cannot be read.</summary>
    public const int Usage = 2;

    /// <summary>A fault in Cloister itself; the message is on stderr, never a stack trace.</summary>
    public const int InternalError = 70;
}
