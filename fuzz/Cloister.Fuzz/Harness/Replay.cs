namespace Cloister.Fuzz.Harness;

/// <summary>
/// Runs saved inputs through a target outside afl-fuzz: to check the seed corpus, to reproduce a crash with its stack
/// trace, and to tell whether a hang really hangs.
/// </summary>
internal static class Replay
{
    private static readonly TimeSpan s_hangLimit = TimeSpan.FromSeconds(10);

    /// <returns>The number of inputs that crashed or hung.</returns>
    public static int Run(FuzzTarget target, IEnumerable<string> paths, TextWriter output)
    {
        var findings = 0;
        var count = 0;
        foreach (var file in paths.SelectMany(Expand))
        {
            count++;
            var input = File.ReadAllBytes(file);
            var run = Task.Run(() => target.Run(input));
            string? problem = null;
            try
            {
                if (!run.Wait(s_hangLimit))
                {
                    problem = $"no answer after {s_hangLimit.TotalSeconds:0} s (hang)";
                }
            }
            catch (AggregateException ex) when (ex.InnerException is { } inner)
            {
                problem = inner.ToString();
            }

            if (problem is not null)
            {
                findings++;
                output.WriteLine($"{target.Name}: {file}: {problem}");
            }
        }

        output.WriteLine($"{target.Name}: {count} inputs, {findings} findings");
        return findings;
    }

    private static IEnumerable<string> Expand(string path) =>
        Directory.Exists(path) ? Directory.EnumerateFiles(path).Order(StringComparer.Ordinal) : [path];
}
