namespace Cloister.RuntimeBundler;

/// <summary>
/// A <c>.deb</c> that <see cref="DebArchive"/> refuses, the package and the member or entry named in the message; kept
/// apart from what the decompressors and <c>TarReader</c> throw, which names neither and is wrapped in one of these.
/// </summary>
internal sealed class DebFormatException(string message, Exception? inner = null) : FormatException(message, inner);
