namespace Cloister.Runtime.Messages;

/// <summary>Where a log line came from.</summary>
public enum LogSource
{
    /// <summary>The app's standard output (<c>stdout</c> on the wire).</summary>
    Stdout,

    /// <summary>The app's standard error (<c>stderr</c> on the wire).</summary>
    Stderr,

    /// <summary>The enclave supervisor itself (<c>supervisor</c> on the wire).</summary>
    Supervisor,
}
