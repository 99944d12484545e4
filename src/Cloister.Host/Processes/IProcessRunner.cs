namespace Cloister.Host.Processes;

/// <summary>Runs a program to completion and captures its output; unit tests substitute a fake.</summary>
public interface IProcessRunner
{
    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> and waits for it.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments, passed as they are (no shell).</param>
    /// <param name="cancellationToken">Kills the program and cancels the wait.</param>
    /// <returns>Its exit code and output.</returns>
    /// <exception cref="IOException">The program could not be started.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<ProcessOutput> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}
