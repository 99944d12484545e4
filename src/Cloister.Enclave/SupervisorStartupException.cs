namespace Cloister.Enclave;

/// <summary>Why the supervisor could not start a part the manifest asks for; the reason decides its exit code.</summary>
internal enum StartupFailure
{
    /// <summary>The manifest or the supervisor's options ask for what cannot be done: exit 78 (EX_CONFIG).</summary>
    Configuration,

    /// <summary>The enclave's platform failed (the NSM unreachable, refusing, or answering garbage): exit 70 (EX_SOFTWARE).</summary>
    Platform,
}

/// <summary>
/// A part of the supervisor (attested ingress) could not start. The message is the one line to log, naming the part and
/// the port; <see cref="Reason"/> says whose fault it is.
/// </summary>
internal sealed class SupervisorStartupException(StartupFailure reason, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public StartupFailure Reason { get; } = reason;
}
