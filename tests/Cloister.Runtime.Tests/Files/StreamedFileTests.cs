using System.IO.Pipes;
using Cloister.Runtime.Files;

namespace Cloister.Runtime.Tests.Files;

public sealed class StreamedFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("streamed-file-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(70_000)]
    public void A_regular_file_opens_at_its_start_with_its_length(int length)
    {
        var path = Path.Combine(_directory, "kernel");
        var content = new byte[length];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(path, content);

        using var stream = StreamedFile.OpenRead(path, "--kernel");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);

        Assert.Equal(length, stream.Length);
        Assert.Equal(content, copy.ToArray());
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    [InlineData("/proc/self/status")]
    public void A_file_holding_more_than_its_size_is_refused_naming_it(string source)
    {
        var link = Path.Combine(_directory, "ramdisk");
        File.CreateSymbolicLink(link, source);

        var error = Assert.Throws<IOException>(() => StreamedFile.OpenRead(link, "--ramdisk"));

        Assert.Equal($"--ramdisk {link}: not a regular file: it holds more than the 0 bytes its size says (a device or a /proc file)", error.Message);
    }

    [Fact]
    public void A_pipe_is_refused_because_it_has_no_size()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
        var path = $"/proc/self/fd/{pipe.ClientSafePipeHandle.DangerousGetHandle()}";

        var error = Assert.Throws<IOException>(() => StreamedFile.OpenRead(path, "--input"));

        Assert.Contains("--input", error.Message, StringComparison.Ordinal);
        Assert.Contains("has no size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_file_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => StreamedFile.OpenRead(Path.Combine(_directory, "absent"), "--kernel"));
    }
}
