namespace Cloister.RuntimeBundler;

/// <summary>The command line is wrong: exit 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
