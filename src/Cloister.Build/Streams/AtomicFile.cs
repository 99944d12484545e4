namespace Cloister.Build.Streams;

/// <summary>Writes files so that a failed or interrupted write never leaves a partial file at the destination.</summary>
public static class AtomicFile
{
    /// <summary>Writes through a temporary file beside <paramref name="path"/>, then renames it into place.</summary>
    /// <typeparam name="T">What <paramref name="write"/> returns.</typeparam>
    /// <param name="path">The destination; replaced when it exists.</param>
    /// <param name="write">Writes the contents to a seekable, readable and writable stream.</param>
    /// <returns>What <paramref name="write"/> returned.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The file cannot be created or renamed; the temporary file is removed.</exception>
    public static T Write<T>(string path, Func<Stream, T> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            T result;
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0))
            {
                result = write(stream);
            }

            File.Move(temporary, path, overwrite: true);
            return result;
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
