namespace Cloister.Enclave.Apps;

/// <summary>
/// Finds <c>argv[0]</c> the way <c>execvp</c> would, but through the APP's <c>PATH</c>, not the supervisor's (which AWS init
/// set for us, not for the image).
/// </summary>
internal static class ExecutableSearch
{
    /// <summary>Docker's default when the image sets no <c>PATH</c>.</summary>
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public static string Resolve(string program, IReadOnlyList<string> environment, string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(program);
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return IsExecutable(root, program)
                ? program
                : throw new AppLaunchException($"the app's executable {program} does not exist or is not executable", File.Exists(Path.Join(root, program)) ? AppLaunchException.CannotRun : AppLaunchException.NotFound);
        }

        var path = environment.LastOrDefault(variable => variable.StartsWith("PATH=", StringComparison.Ordinal))?["PATH=".Length..] ?? DefaultPath;
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = directory.EndsWith('/') ? directory + program : $"{directory}/{program}";
            if (IsExecutable(root, candidate))
            {
                return candidate;
            }
        }

        throw new AppLaunchException($"the app's executable '{program}' is not in its PATH ({path})", AppLaunchException.NotFound);
    }

    private static bool IsExecutable(string root, string path)
    {
        var file = new FileInfo(Path.Join(root, path));
        return file.Exists && (file.UnixFileMode & AnyExecute) != 0;
    }
}
