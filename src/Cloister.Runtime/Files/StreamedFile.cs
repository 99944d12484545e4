using Microsoft.Win32.SafeHandles;

namespace Cloister.Runtime.Files;

/// <summary>
/// Opens an input file that is streamed rather than read whole (a kernel, a ramdisk, a file to measure). Its size is
/// taken before its first byte is read and becomes part of the output (an EIF section header says it), so the file
/// must hold exactly that many bytes. A regular file does. A pipe or a terminal has no size; a device such as
/// <c>/dev/zero</c> or a <c>/proc</c> file says 0 and never ends, which would write an empty section or read
/// forever: both are refused before anything is read.
/// </summary>
public static class StreamedFile
{
    /// <summary>Opens <paramref name="path"/> for reading from its start.</summary>
    /// <param name="path">The file; symbolic links are followed.</param>
    /// <param name="what">What the file is, for the error: "--kernel", "the blobs kernel".</param>
    /// <returns>The open file at position 0; its <see cref="Stream.Length"/> is the number of bytes it holds.</returns>
    /// <exception cref="IOException">The file cannot be opened or read (including <see cref="FileNotFoundException"/>), has no size (a pipe, socket or terminal), or holds more than its size says (a device).</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read, or it is a directory.</exception>
    public static FileStream OpenRead(string path, string what)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        try
        {
            // No FileStream buffer: callers read in large chunks that go straight to their hashing buffers.
            var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            if (!stream.CanSeek)
            {
                throw new IOException($"{what} {path}: not a regular file: a pipe, socket or terminal has no size to stream it by");
            }

            if (HoldsMoreThan(handle, stream.Length))
            {
                throw new IOException($"{what} {path}: not a regular file: it holds more than the {stream.Length} bytes its size says (a device or a /proc file)");
            }

            return stream;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    // A positioned read at the stated end: nothing for a regular file, data for /dev/zero, /dev/urandom or /proc files.
    private static bool HoldsMoreThan(SafeFileHandle handle, long length)
    {
        Span<byte> probe = stackalloc byte[1];
        return RandomAccess.Read(handle, probe, length) != 0;
    }
}
