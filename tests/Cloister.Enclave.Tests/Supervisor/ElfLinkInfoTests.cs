using System.Text.RegularExpressions;
using Cloister.Build.Supervisor;
using Cloister.Enclave.Tests.Sandbox;

namespace Cloister.Enclave.Tests.Supervisor;

public sealed partial class ElfLinkInfoTests
{
    private const ushort X86_64 = 62;

    [Theory]
    [InlineData("/usr/lib/x86_64-linux-gnu/libssl.so.3")]
    [InlineData("/usr/lib/x86_64-linux-gnu/libc.so.6")]
    [InlineData("/usr/bin/openssl")]
    public void Reads_what_readelf_reads(string path)
    {
        var readelf = ProcessRunner.Run(ProcessRunner.RequireTool("readelf", "binutils"), ["--wide", "--dynamic", "--program-headers", path]);
        Assert.True(readelf.ExitCode == 0, readelf.ToString());

        var info = ElfLinkInfo.Read(path);

        Assert.Equal(X86_64, info.Machine);
        Assert.Equal([.. NeededPattern().Matches(readelf.Stdout).Select(m => m.Groups[1].Value)], info.Needed);
        Assert.Equal(SoNamePattern().Match(readelf.Stdout) is { Success: true } soName ? soName.Groups[1].Value : null, info.SoName);
        Assert.Equal(InterpreterPattern().Match(readelf.Stdout) is { Success: true } interp ? interp.Groups[1].Value : null, info.Interpreter);
    }

    [Fact]
    public void Executable_names_glibcs_loader_and_needs_libc()
    {
        var info = ElfLinkInfo.Read("/usr/bin/openssl");

        Assert.Equal("/lib64/ld-linux-x86-64.so.2", info.Interpreter);
        Assert.Null(info.SoName);
        Assert.Contains("libc.so.6", info.Needed);
        Assert.Contains("libssl.so.3", info.Needed);
    }

    [Fact]
    public void Not_an_elf_file_names_the_magic_at_offset_0()
    {
        var ex = Assert.Throws<FormatException>(() => ElfLinkInfo.Read(new MemoryStream(new byte[64])));

        Assert.Contains("offset 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Elf32_is_refused_naming_the_class_byte()
    {
        var header = HostLibraryHeader();
        header[4] = 1;

        var ex = Assert.Throws<FormatException>(() => ElfLinkInfo.Read(new MemoryStream(header)));

        Assert.Contains("offset 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_file_names_the_part_that_runs_past_the_end()
    {
        var ex = Assert.Throws<FormatException>(() => ElfLinkInfo.Read(new MemoryStream(HostLibraryHeader())));

        Assert.Contains("program headers", ex.Message, StringComparison.Ordinal);
        Assert.Contains("past the end of the 64-byte file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_errors_name_the_path()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, "#!/bin/sh\n"u8.ToArray());

            var ex = Assert.Throws<FormatException>(() => ElfLinkInfo.Read(path));

            Assert.StartsWith(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] HostLibraryHeader()
    {
        using var file = File.OpenRead("/usr/lib/x86_64-linux-gnu/libc.so.6");
        var header = new byte[64];
        file.ReadExactly(header);
        return header;
    }

    [GeneratedRegex(@"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")]
    private static partial Regex NeededPattern();

    [GeneratedRegex(@"\(SONAME\)\s+Library soname: \[([^\]]+)\]")]
    private static partial Regex SoNamePattern();

    [GeneratedRegex(@"\[Requesting program interpreter: ([^\]]+)\]")]
    private static partial Regex InterpreterPattern();
}
