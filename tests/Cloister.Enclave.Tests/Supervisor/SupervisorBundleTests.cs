using Cloister.Build.Supervisor;

namespace Cloister.Enclave.Tests.Supervisor;

/// <summary>The bundle's shape, checked on a stand-in executable from the host (openssl: same loader, needs libssl), so no publish is needed.</summary>
public sealed class SupervisorBundleTests
{
    private const string StandIn = "/usr/bin/openssl";

    [Fact]
    public void Tree_holds_the_executable_the_loader_libc_libm_and_openssl_sorted()
    {
        var bundle = SupervisorBundle.Create(StandIn);
        var paths = bundle.Entries.Select(e => e.Path).ToArray();

        Assert.Equal(paths.Order(StringComparer.Ordinal), paths);
        Assert.Equal(paths.Distinct(StringComparer.Ordinal), paths);
        Assert.Equal(["cloister", "cloister/bin", "cloister/etc", "cloister/home", "cloister/lib"], bundle.Entries.Where(e => e.IsDirectory).Select(e => e.Path));
        string[] expected = ["cloister/bin/cloister-enclave", "cloister/etc/openssl.cnf", "cloister/lib/ld-linux-x86-64.so.2", "cloister/lib/libc.so.6", "cloister/lib/libssl.so.3", "cloister/lib/libcrypto.so.3"];
        Assert.Subset(paths.ToHashSet(), expected.ToHashSet());
        Assert.All(paths, path => Assert.True(path.StartsWith("cloister/", StringComparison.Ordinal) || path == "cloister"));
    }

    [Fact]
    public void Modes_are_0755_for_directories_the_executable_and_the_loader_and_0644_for_the_rest()
    {
        var bundle = SupervisorBundle.Create(StandIn);
        string[] executables = ["cloister/bin/cloister-enclave", "cloister/lib/ld-linux-x86-64.so.2"];

        Assert.All(bundle.Entries, entry => Assert.Equal(
            entry.IsDirectory || executables.Contains(entry.Path) ? Convert.ToInt32("755", 8) : Convert.ToInt32("644", 8),
            (int)entry.Mode));
    }

    [Fact]
    public void Library_contents_are_the_resolved_files_not_links()
    {
        var bundle = SupervisorBundle.Create(StandIn);

        Assert.All(bundle.Entries.Where(e => e.SourcePath is not null), entry =>
        {
            var source = new FileInfo(entry.SourcePath!);
            Assert.Null(source.LinkTarget);
            Assert.Equal(source.Length, entry.Length);
            using var content = entry.OpenRead();
            Assert.Equal(entry.Length, content.Length);
        });
        Assert.Equal(
            File.ReadAllBytes("/lib64/ld-linux-x86-64.so.2"),
            ReadAll(bundle.Entries.Single(e => e.Path == "cloister/lib/ld-linux-x86-64.so.2")));
    }

    [Fact]
    public void Same_inputs_give_the_same_entries_and_bytes()
    {
        var time = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
        var first = SupervisorBundle.Create(StandIn, new SupervisorBundleOptions { ModificationTime = time });
        var second = SupervisorBundle.Create(StandIn, new SupervisorBundleOptions { ModificationTime = time });

        Assert.Equal(Describe(first), Describe(second));
        Assert.All(first.Entries, entry => Assert.Equal(time, entry.ModificationTime));
    }

    [Fact]
    public void Missing_library_names_who_needs_it_and_where_it_looked()
    {
        var options = new SupervisorBundleOptions { DlopenedLibraries = ["libcloister-absent.so.9"] };

        var ex = Assert.Throws<FileNotFoundException>(() => SupervisorBundle.Create(StandIn, options));

        Assert.Contains("libcloister-absent.so.9 (needed by dlopen)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/usr/lib/x86_64-linux-gnu", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Executable_without_glibcs_loader_is_refused()
    {
        var ex = Assert.Throws<FormatException>(() => SupervisorBundle.Create("/usr/lib/x86_64-linux-gnu/libssl.so.3"));

        Assert.Contains("interpreter", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_runs_the_supervisor_through_the_bundled_loader_and_library_path()
    {
        Assert.Equal(
            ["/cloister/lib/ld-linux-x86-64.so.2", "--library-path", "/cloister/lib", "/cloister/bin/cloister-enclave", "--self-test"],
            SupervisorBundle.Command("--self-test"));
        Assert.Equal(["HOME=/cloister/home", "OPENSSL_CONF=/cloister/etc/openssl.cnf", "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1"], SupervisorBundle.Environment);
    }

    [Fact]
    public void WriteTo_materializes_entries_with_their_modes()
    {
        var bundle = SupervisorBundle.Create(StandIn);
        var root = Directory.CreateTempSubdirectory("cloister-bundle-").FullName;
        try
        {
            bundle.WriteTo(root);

            Assert.All(bundle.Entries, entry =>
            {
                var path = Path.Combine(root, entry.Path);
                Assert.Equal(entry.Mode, File.GetUnixFileMode(path));
                if (!entry.IsDirectory)
                {
                    Assert.Equal(entry.Length, new FileInfo(path).Length);
                }
            });
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static byte[] ReadAll(SupervisorBundleEntry entry)
    {
        using var content = entry.OpenRead();
        using var copy = new MemoryStream();
        content.CopyTo(copy);
        return copy.ToArray();
    }

    private static string[] Describe(SupervisorBundle bundle) =>
        [.. bundle.Entries.Select(e => $"{e.Path} {e.Mode} {e.ModificationTime.ToUnixTimeSeconds()} {e.Length} {(e.IsDirectory ? "" : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(ReadAll(e))))}")];
}
