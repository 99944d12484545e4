using Cloister.Runtime.Files;

namespace Cloister.Runtime.Tests.Files;

public sealed class BoundedFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bounded-file-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100_000)]
    [InlineData(200_000)]
    public async Task A_file_up_to_the_limit_is_read_whole(int length)
    {
        var path = Path.Combine(_directory, "f");
        var content = new byte[length];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(path, content);

        Assert.Equal(content, BoundedFile.ReadAllBytes(path, 200_000, "the input"));
        Assert.Equal(content, await BoundedFile.ReadAllBytesAsync(path, 200_000, "the input"));
    }

    [Fact]
    public async Task A_file_one_byte_over_the_limit_is_refused_naming_it_and_the_limit()
    {
        var path = Path.Combine(_directory, "f");
        File.WriteAllBytes(path, new byte[1025]);

        var sync = Assert.Throws<FileTooLargeException>(() => BoundedFile.ReadAllBytes(path, 1024, "--pcrs"));
        var async = await Assert.ThrowsAsync<FileTooLargeException>(() => BoundedFile.ReadAllBytesAsync(path, 1024, "--pcrs"));
        Assert.Equal($"--pcrs {path}: larger than the 1 KiB limit for it", sync.Message);
        Assert.Equal(sync.Message, async.Message);
    }

    [Fact]
    public async Task An_endless_device_behind_a_symbolic_link_is_refused_at_the_limit()
    {
        var link = Path.Combine(_directory, "enclave.yaml");
        File.CreateSymbolicLink(link, "/dev/zero");

        var ex = Assert.Throws<FileTooLargeException>(() => BoundedFile.ReadAllBytes(link, 1 << 20, "the manifest"));
        await Assert.ThrowsAsync<FileTooLargeException>(() => BoundedFile.ReadAllBytesAsync(link, 1 << 20, "the manifest"));
        Assert.Contains("1 MiB", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_that_reports_no_length_is_read_to_its_end()
    {
        // /proc files report a length of 0 and hold more.
        var text = BoundedFile.ReadAllText("/proc/self/status", 1 << 20, "status");
        Assert.Contains("Name:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_a_file_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => BoundedFile.ReadAllBytes(Path.Combine(_directory, "absent"), 10, "x"));
    }
}
