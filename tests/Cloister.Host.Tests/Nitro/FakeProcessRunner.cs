using Cloister.Host.Processes;

namespace Cloister.Host.Tests.Nitro;

/// <summary>Answers each nitro-cli command from a script and records the command lines it was given.</summary>
internal sealed class FakeProcessRunner(Func<IReadOnlyList<string>, ProcessOutput> answer) : IProcessRunner
{
    public List<(string FileName, IReadOnlyList<string> Arguments)> Calls { get; } = [];

    public Task<ProcessOutput> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        lock (Calls)
        {
            Calls.Add((fileName, arguments));
        }

        return Task.FromResult(answer(arguments));
    }
}
