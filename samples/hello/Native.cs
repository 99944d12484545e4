using System.Runtime.InteropServices;

namespace Cloister.Samples.Hello;

/// <summary>The process's real user and group ids, which .NET does not expose.</summary>
internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "getuid")]
    internal static partial uint GetUserId();

    [LibraryImport("libc", EntryPoint = "getgid")]
    internal static partial uint GetGroupId();
}
