using Cloister.Build.Enclaves;
using Cloister.Build.Images.Registry;
using Cloister.Build.RuntimeBundles;
using Cloister.Runtime.Manifest;
using Cloister.Testing;

namespace Cloister.Host.Tests.TestEnclave;

/// <summary>
/// Builds EIFs that run the test enclave (<c>enclave.sh</c> with busybox and the static <c>ustream</c>) instead of
/// the Cloister supervisor: an OCI layout made with umoci once per test run, then one simulation-only EIF per
/// scenario through the real <see cref="EnclaveImageBuilder"/> with <see cref="EnclaveRuntime.None"/> and a cmd override.
/// The image carries its own <c>/cloister/enclave.json</c> declaring one passthrough ingress port.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class TestEnclaveImage
{
    /// <summary>The manifest's ingress port, which the serve scenario echoes on.</summary>
    public const int IngressPort = 5005;

    private const string Tag = "test";

    private static readonly string[] s_applets = ["sh", "mkfifo", "wc", "ip", "cut", "tr", "head", "nc", "sleep", "cat", "test", "kill", "ls", "tail", "sed", "chmod"];
    private static readonly Lazy<string> s_layout = new(BuildLayout, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Builds <c>test-enclave.eif</c> into <paramref name="outputDirectory"/>, running <c>enclave.sh</c> with <paramref name="scriptArguments"/>.</summary>
    public static Task<EnclaveBuildResult> BuildAsync(string outputDirectory, params string[] scriptArguments) =>
        BuildCoreAsync(outputDirectory, runtime: null, ["/bin/sh", "/test/enclave.sh", .. scriptArguments], provisioning: null);

    /// <summary>
    /// Builds <c>test-enclave.eif</c> with <paramref name="runtime"/> added, whose <c>cmd</c> starts the supervisor (the
    /// script then is only the app it would run).
    /// </summary>
    public static Task<EnclaveBuildResult> BuildWithSupervisorAsync(string outputDirectory, RuntimeBundle runtime, params string[] scriptArguments) =>
        BuildCoreAsync(outputDirectory, runtime, ["/bin/sh", "/test/enclave.sh", .. scriptArguments], provisioning: null);

    /// <summary>
    /// Builds <c>test-enclave.eif</c> with <paramref name="runtime"/> and a <c>provisioning</c> section: the supervisor
    /// provisions before it runs <c>sh -c <paramref name="shellCommand"/></c> with the secrets in its environment.
    /// </summary>
    /// <param name="api">The local API's settings (the default: attestation only).</param>
    public static Task<EnclaveBuildResult> BuildProvisionedAsync(string outputDirectory, RuntimeBundle runtime, ProvisioningSettings provisioning, string shellCommand, LocalApiSettings? api = null) =>
        BuildCoreAsync(outputDirectory, runtime, ["/bin/sh", "-c", shellCommand], provisioning, api);

    private static async Task<EnclaveBuildResult> BuildCoreAsync(string outputDirectory, RuntimeBundle? runtime, string[] cmd, ProvisioningSettings? provisioning, LocalApiSettings? api = null)
    {
        var manifest = new EnclaveManifest
        {
            Name = "test-enclave",
            Image = $"oci-layout:{s_layout.Value}:{Tag}",
            Cmd = cmd,
            Provisioning = provisioning,
            Api = api ?? new LocalApiSettings(),
        };
        return await EnclaveImageBuilder.BuildAsync(manifest, new EnclaveBuildOptions
        {
            OutputDirectory = outputDirectory,
            TemporaryDirectory = Path.Combine(outputDirectory, "build-tmp"),
            Registry = new RegistryOptions(Path.Combine(outputDirectory, "build-cache")),
            Runtime = runtime is null ? EnclaveRuntime.None : EnclaveRuntime.Cloister,
            RuntimeBundle = runtime,
            BuildTime = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        });
    }

    private static string BuildLayout()
    {
        var work = Directory.CreateTempSubdirectory("cloister-test-enclave-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(work, recursive: true);
        var layout = Path.Combine(work, "layout");
        var bundle = Path.Combine(work, "bundle");
        var image = $"{layout}:{Tag}";
        ExternalTool.Umoci("init", "--layout", layout);
        ExternalTool.Umoci("new", "--image", image);
        ExternalTool.Umoci("unpack", "--image", image, bundle);
        var rootfs = Path.Combine(bundle, "rootfs");
        foreach (var directory in new[] { "bin", "test", "tmp", "proc", "dev", "run", "cloister", "fidelity" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, directory));
        }

        File.Copy(ExternalTool.Require("busybox", "busybox-static"), Path.Combine(rootfs, "bin", "busybox"));
        foreach (var applet in s_applets)
        {
            File.CreateSymbolicLink(Path.Combine(rootfs, "bin", applet), "busybox");
        }

        var sources = Path.Combine(RepositoryPaths.Root, "tests", "Cloister.Host.Tests", "TestEnclave");
        ExternalTool.Run("musl-gcc", "musl-tools", "-static", "-O2", "-o", Path.Combine(rootfs, "test", "ustream"), Path.Combine(sources, "ustream.c"));
        File.Copy(Path.Combine(sources, "enclave.sh"), Path.Combine(rootfs, "test", "enclave.sh"));
        File.SetUnixFileMode(Path.Combine(rootfs, "test", "enclave.sh"), (UnixFileMode)0b111_101_101);
        File.WriteAllBytes(Path.Combine(rootfs, "cloister", "enclave.json"), EnclaveLaunchSpecJson.Serialize(new EnclaveLaunchSpec
        {
            Manifest = new EnclaveManifest
            {
                Name = "test-enclave",
                Image = "test",
                Ingress = [new IngressPort { Port = IngressPort, AppPort = 8080, Tls = IngressTls.Passthrough }],
            },
            Image = new ImageRunConfig { Cmd = ["/bin/sh", "/test/enclave.sh"] },
        }));

        // What unpacking must reproduce: set-id bits, foreign owners, a FIFO, a device node, links.
        var fidelity = Path.Combine(rootfs, "fidelity");
        File.WriteAllText(Path.Combine(fidelity, "setuid"), "owned by someone else\n");
        ExternalTool.Run("chown", "coreutils", "1234:5678", Path.Combine(fidelity, "setuid"));
        ExternalTool.Run("chmod", "coreutils", "4750", Path.Combine(fidelity, "setuid"));
        ExternalTool.Run("mkfifo", "coreutils", "-m", "0640", Path.Combine(fidelity, "fifo"));
        ExternalTool.Run("mknod", "coreutils", "-m", "0666", Path.Combine(fidelity, "null"), "c", "1", "3");
        File.CreateSymbolicLink(Path.Combine(fidelity, "link"), "setuid");
        ExternalTool.Run("ln", "coreutils", Path.Combine(fidelity, "setuid"), Path.Combine(fidelity, "hardlink"));
        ExternalTool.Run("touch", "coreutils", "-h", "-d", "@1600000000", Path.Combine(fidelity, "link"));
        ExternalTool.Umoci("repack", "--image", image, bundle);
        return layout;
    }
}
