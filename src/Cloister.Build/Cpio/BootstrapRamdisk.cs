using Cloister.Runtime.Files;

namespace Cloister.Build.Cpio;

/// <summary>
/// The bootstrap ramdisk nitro-cli builds with linuxkit from its blobs directory: <c>dev</c> (directory 0755),
/// <c>init</c> (0755), <c>nsm.ko</c> (0755), all owned by root with linuxkit's default mtime, then the trailer.
/// Its bytes, and so PCR1, depend only on the two blobs.
/// </summary>
public static class BootstrapRamdisk
{
    private const int Mode0755 = 0x1ED;

    /// <summary>Writes the ramdisk.</summary>
    /// <param name="output">The stream written to.</param>
    /// <param name="init">AWS's <c>init</c> binary, read from its position to its end.</param>
    /// <param name="nsmModule">The <c>nsm.ko</c> kernel module, read from its position to its end.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="IOException">Reading or writing failed.</exception>
    public static void Write(Stream output, Stream init, Stream nsmModule)
    {
        using var writer = new CpioWriter(output, leaveOpen: true);
        writer.WriteDirectory("dev", Mode0755);
        writer.WriteFile("init", Mode0755, init);
        writer.WriteFile("nsm.ko", Mode0755, nsmModule);
    }

    /// <summary>Writes the ramdisk from a nitro-cli blobs directory holding <c>init</c> and <c>nsm.ko</c>.</summary>
    /// <param name="output">The stream written to.</param>
    /// <param name="blobsDirectory">The directory, e.g. <c>/usr/share/nitro_enclaves/blobs</c>.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="FileNotFoundException"><c>init</c> or <c>nsm.ko</c> is missing.</exception>
    /// <exception cref="IOException">Reading or writing failed, or a blob is not a file that says its size (<see cref="StreamedFile"/>).</exception>
    public static void WriteFromBlobs(Stream output, string blobsDirectory)
    {
        ArgumentNullException.ThrowIfNull(blobsDirectory);
        using var init = StreamedFile.OpenRead(Path.Combine(blobsDirectory, "init"), "the blobs init");
        using var nsmModule = StreamedFile.OpenRead(Path.Combine(blobsDirectory, "nsm.ko"), "the blobs nsm.ko");
        Write(output, init, nsmModule);
    }
}
