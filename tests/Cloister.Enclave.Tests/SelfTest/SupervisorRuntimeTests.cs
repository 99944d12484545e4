using System.Security.Cryptography;
using Cloister.Build.Supervisor;
using Cloister.Enclave.SelfTest;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.SelfTest;

/// <summary>The published supervisor, started by its bundle's <c>cmd</c> in scratch, musl and glibc root file systems.</summary>
[Collection(PublishedSupervisorDefinition.Name)]
public sealed class SupervisorRuntimeTests(PublishedSupervisorFixture supervisor)
{
    private const string HostLibraryDirectory = "/usr/lib/x86_64-linux-gnu";

    [Fact]
    public void Scratch_rootfs_holding_only_the_bundle_passes_the_self_test()
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);
        Assert.Equal(["cloister", "dev", "proc", "tmp"], TopLevelNames(rootfs));

        var report = PassingSelfTest(rootfs.RunSupervisor(SupervisorBundle.Environment, "--self-test"));

        AssertOnlyBundledLibraries(report);
    }

    [Fact]
    public void Musl_rootfs_laid_out_like_alpine_passes_the_self_test()
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);
        MuslImage.AddTo(rootfs);
        Assert.Equal("/lib/ld-musl-x86_64.so.1", ElfLinkInfo.Read(rootfs.At("bin/hello")).Interpreter);
        var muslProgram = rootfs.Run(["PATH=/bin"], ["/bin/hello"]);
        Assert.True(muslProgram.ExitCode == 0, $"the musl image itself does not work:\n{muslProgram}");
        Assert.Equal("hello from musl\n", muslProgram.Stdout);
        Assert.DoesNotContain(
            Directory.EnumerateFiles(rootfs.Path, "libc.so.6", SearchOption.AllDirectories),
            path => !path.Contains("/cloister/", StringComparison.Ordinal));

        var report = PassingSelfTest(rootfs.RunSupervisor(SupervisorBundle.Environment, "--self-test"));

        AssertOnlyBundledLibraries(report);
    }

    [Fact]
    public void Glibc_rootfs_with_its_own_libssl_and_LD_LIBRARY_PATH_still_loads_only_bundled_libraries()
    {
        using var rootfs = GlibcImage(supervisor.Bundle);
        var imageOpenSsl = rootfs.Run([], ["/usr/bin/openssl", "version"]);
        Assert.True(imageOpenSsl.ExitCode == 0, $"the glibc image itself does not work:\n{imageOpenSsl}");
        Assert.True(File.Exists(Path.Combine(HostLibraryDirectory, "libssl.so.3")));

        var report = PassingSelfTest(rootfs.RunSupervisor([.. SupervisorBundle.Environment, $"LD_LIBRARY_PATH={HostLibraryDirectory}"], "--self-test"));

        AssertOnlyBundledLibraries(report);
    }

    [Fact]
    public void Image_openssl_cnf_that_breaks_libcrypto_is_ignored_thanks_to_the_bundled_OPENSSL_CONF()
    {
        // A config the image's OpenSSL may be fine with, but that activates a provider our libcrypto cannot load.
        var hostileConfig = Path.GetTempFileName();
        File.WriteAllText(hostileConfig, "openssl_conf = init\n[init]\nproviders = providers\n[providers]\nfips = fips\n[fips]\nactivate = 1\n");
        try
        {
            // Debian's libcrypto reads /usr/lib/ssl/openssl.cnf, a link to /etc/ssl/openssl.cnf: the image's own file.
            using var rootfs = GlibcImage(supervisor.Bundle).BindReadOnly(hostileConfig, "/etc/ssl/openssl.cnf");

            var withoutOurConfig = rootfs.RunSupervisor(SupervisorBundle.Environment.Where(v => !v.StartsWith("OPENSSL_CONF=", StringComparison.Ordinal)), "--self-test");
            Assert.True(withoutOurConfig.ExitCode == 1, withoutOurConfig.ToString());
            Assert.Contains("self-test failed", withoutOurConfig.Stderr, StringComparison.Ordinal);

            PassingSelfTest(rootfs.RunSupervisor(SupervisorBundle.Environment, "--self-test"));
        }
        finally
        {
            File.Delete(hostileConfig);
        }
    }

    [Fact]
    public void Missing_needed_library_fails_with_the_loaders_message()
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);
        File.Delete(rootfs.At("cloister/lib/libm.so.6"));

        var result = rootfs.RunSupervisor(SupervisorBundle.Environment, "--self-test");

        Assert.True(result.ExitCode == 127, result.ToString());
        Assert.Contains("error while loading shared libraries: libm.so.6: cannot open shared object file", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_dlopened_libssl_aborts_the_process_with_dotnets_message()
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);
        File.Delete(rootfs.At("cloister/lib/libssl.so.3"));

        var result = rootfs.RunSupervisor(SupervisorBundle.Environment, "--self-test");

        // .NET's crypto shim calls abort() when dlopen finds no libssl: no exception, nothing the supervisor could catch.
        const int killedBySigabrt = 128 + 6;
        Assert.True(result.ExitCode == killedBySigabrt, result.ToString());
        Assert.Contains("No usable version of libssl was found", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_HOME_and_etc_passwd_the_tls_handshake_fails_so_the_bundle_sets_HOME()
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);

        var result = rootfs.RunSupervisor(SupervisorBundle.Environment.Where(v => !v.StartsWith("HOME=", StringComparison.Ordinal)), "--self-test");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("self-test failed", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    // No "+commit" suffix: the version string is in the executable, whose bytes must not depend on git.
    [InlineData("--version", 0, "cloister-enclave 0.1.0\n", "")]
    [InlineData("--no-such-option", 2, "", "usage: cloister-enclave [--self-test | --version]")]
    public void Other_arguments_answer_without_touching_crypto(string argument, int exitCode, string stdout, string stderr)
    {
        using var rootfs = Rootfs.WithBundle(supervisor.Bundle);

        var result = rootfs.RunSupervisor(SupervisorBundle.Environment, argument);

        Assert.True(result.ExitCode == exitCode, result.ToString());
        Assert.StartsWith(stdout, result.Stdout, StringComparison.Ordinal);
        Assert.StartsWith(stderr, result.Stderr, StringComparison.Ordinal);
    }

    private static Rootfs GlibcImage(SupervisorBundle bundle)
    {
        // A Debian image is its /usr plus the merged-/usr symbolic links; the host's serves, read-only.
        var rootfs = Rootfs.WithBundle(bundle).BindReadOnly("/usr");
        foreach (var link in new[] { "bin", "lib", "lib64", "sbin" })
        {
            File.CreateSymbolicLink(rootfs.At(link), $"usr/{link}");
        }

        return rootfs;
    }

    private static SelfTestReport PassingSelfTest(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var report = SelfTestReport.FromJson(Assert.Single(lines));

        Assert.True(report.Pid > 0);
        Assert.Equal(SupervisorBundle.LoaderPath, report.ProcessPath);
        Assert.Equal(SupervisorBundle.ExecutablePath, report.Argv0);
        Assert.StartsWith("3.", report.OpenSsl, StringComparison.Ordinal);
        Assert.Equal(Convert.ToHexStringLower(SHA384.HashData(RuntimeSelfTest.DigestInput)), report.Sha384);
        Assert.Equal("ECDSA_P384", report.Ecdsa.Curve);
        Assert.Equal(96, report.Ecdsa.SignatureBytes);
        Assert.True(report.Ecdsa.TamperedRejected);
        Assert.Equal("Tls13", report.Tls.Protocol);
        Assert.Equal(64, report.Tls.EchoedBytes);
        Assert.Equal(64, report.Tls.ServerCertificateSha256.Length);
        return report;
    }

    private static void AssertOnlyBundledLibraries(SelfTestReport report)
    {
        Assert.All(report.Libraries, library => Assert.StartsWith(SupervisorBundle.LibraryDirectory + "/", library, StringComparison.Ordinal));
        Assert.Contains(SupervisorBundle.LibraryDirectory + "/libssl.so.3", report.Libraries);
        Assert.Contains(SupervisorBundle.LibraryDirectory + "/libcrypto.so.3", report.Libraries);
        Assert.Contains(SupervisorBundle.LoaderPath, report.Libraries);
    }

    private static string[] TopLevelNames(Rootfs rootfs) =>
        [.. Directory.EnumerateFileSystemEntries(rootfs.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
}
