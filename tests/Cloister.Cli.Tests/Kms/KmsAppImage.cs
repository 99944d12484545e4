using System.Runtime.Versioning;
using Cloister.Build.Enclaves;
using Cloister.Build.Images.Registry;
using Cloister.Build.RuntimeBundles;
using Cloister.Runtime.Manifest;
using Cloister.Testing;

namespace Cloister.Cli.Tests.Kms;

/// <summary>What goes into a KMS app enclave besides the apps: the manifest's pieces and files of the test's own.</summary>
internal sealed record KmsAppImageOptions
{
    /// <summary>The manifest's <c>name</c>.</summary>
    public string Name { get; init; } = "kms-app";

    /// <summary>The app's environment (the manifest's <c>env</c>); <c>HOME</c> is <c>/tmp</c> unless it names another.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    /// <summary>Image path → file on this machine, e.g. <c>/etc/kms-ca.pem</c> → the test KMS server's CA PEM.</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    /// <summary>The manifest's <c>kms_proxy</c> section.</summary>
    public KmsProxySettings? KmsProxy { get; init; }
}

/// <summary>
/// Builds EIFs with the Cloister supervisor whose app is one of the KMS test apps (tests/KmsApps, README.md there):
/// node with its libraries and the JS app, and the NativeAOT .NET app with its libraries and OpenSSL, in an OCI layout
/// made with umoci once per test run. A build with <see cref="KmsAppImageOptions.Files"/> adds them as one more layer
/// under a tag of its own, so the large layer is made and compressed once per test run.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class KmsAppImage
{
    /// <summary>node, at its path on this machine (and in the image).</summary>
    public const string Node = "/usr/bin/node";

    /// <summary>The JS app: <c>node /app/js/app.mjs ARGS</c>.</summary>
    public const string JsApp = "/app/js/app.mjs";

    /// <summary>The .NET app: <c>/app/dotnet/kms-app ARGS</c>.</summary>
    public const string DotnetApp = "/app/dotnet/kms-app";

    private const string BaseTag = "kms-apps";

    private static readonly Lazy<string> s_layout = new(BuildLayout, LazyThreadSafetyMode.ExecutionAndPublication);

    // umoci rewrites the layout's index.json on each repack: one writer at a time.
    private static readonly Lock s_umoci = new();

    /// <summary>The command line that runs the JS app with <paramref name="arguments"/>.</summary>
    public static string[] JsCommand(params string[] arguments) => [Node, JsApp, .. arguments];

    /// <summary>The command line that runs the .NET app with <paramref name="arguments"/>.</summary>
    public static string[] DotnetCommand(params string[] arguments) => [DotnetApp, .. arguments];

    /// <summary>
    /// Builds <c>NAME.eif</c> and <c>measurements.json</c> into <paramref name="outputDirectory"/>: the KMS apps' image
    /// plus <paramref name="options"/>' files, with <paramref name="runtime"/>'s supervisor running <paramref name="cmd"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">node, the JS app's packages (<c>bash .ci/install</c>), umoci or the .NET publish is missing or failed.</exception>
    public static async Task<EnclaveBuildResult> BuildEifAsync(string outputDirectory, RuntimeBundle runtime, IReadOnlyList<string> cmd, KmsAppImageOptions? options = null)
    {
        options ??= new KmsAppImageOptions();
        // The SDKs look for their config files under HOME; the image has no home directory of its own.
        var env = new Dictionary<string, string> { ["HOME"] = "/tmp" };
        foreach (var (name, value) in options.Env)
        {
            env[name] = value;
        }

        var manifest = new EnclaveManifest
        {
            Name = options.Name,
            Image = $"oci-layout:{s_layout.Value}:{Tag(options.Files)}",
            Cmd = cmd,
            Env = env,
            KmsProxy = options.KmsProxy,
        };
        return await EnclaveImageBuilder.BuildAsync(manifest, new EnclaveBuildOptions
        {
            OutputDirectory = outputDirectory,
            TemporaryDirectory = Path.Combine(outputDirectory, "build-tmp"),
            Registry = new RegistryOptions(Path.Combine(outputDirectory, "build-cache")),
            Runtime = EnclaveRuntime.Cloister,
            RuntimeBundle = runtime,
            BuildTime = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        });
    }

    /// <summary>Publishes the .NET app (NativeAOT) into its own artifacts directory, as bench/kms-proxy.sh does, and returns the executable.</summary>
    /// <exception cref="InvalidOperationException">The publish failed.</exception>
    public static string PublishDotnetApp()
    {
        var artifacts = Path.Combine(RepositoryPaths.Root, "artifacts", "kms-apps");
        var output = Path.Combine(artifacts, "publish");
        var project = Path.Combine(RepositoryPaths.Root, "tests", "KmsApps", "dotnet", "KmsApp.csproj");
        var publish = ExternalTool.Capture("dotnet", ["publish", project, "-c", "Release", "--nologo", "-nodeReuse:false", "--artifacts-path", artifacts, "-o", output], timeout: ExternalTool.PublishTimeout);
        return publish.ExitCode == 0
            ? Path.Combine(output, "kms-app")
            : throw new InvalidOperationException($"dotnet publish of {project} failed:\n{publish}");
    }

    private static string Tag(IReadOnlyDictionary<string, string> files)
    {
        if (files.Count == 0)
        {
            return BaseTag;
        }

        // A diff layer from a repack under a new tag: umoci 0.4.7's `insert` of a file writes a tar without its
        // padding and end blocks, which Cloister (and GNU tar) rightly refuse.
        var tag = $"files-{Guid.NewGuid():N}";
        var bundle = Directory.CreateTempSubdirectory("cloister-kms-files-").FullName;
        try
        {
            lock (s_umoci)
            {
                ExternalTool.Umoci("unpack", "--image", $"{s_layout.Value}:{BaseTag}", Path.Combine(bundle, "b"));
                foreach (var (imagePath, hostPath) in files)
                {
                    Copy(hostPath, Path.Combine(bundle, "b", "rootfs") + imagePath);
                }

                ExternalTool.Umoci("repack", "--image", $"{s_layout.Value}:{tag}", "--no-history", Path.Combine(bundle, "b"));
            }
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }

        return tag;
    }

    private static string BuildLayout()
    {
        var node = ExternalTool.Require("node", "nodejs");
        var js = Path.Combine(RepositoryPaths.Root, "tests", "KmsApps", "js");
        if (!File.Exists(Path.Combine(js, "node_modules", "@aws-sdk", "client-kms", "package.json")))
        {
            throw new InvalidOperationException($"{js}/node_modules is missing: run `bash .ci/install` (it runs npm ci there)");
        }

        var dotnetApp = PublishDotnetApp();
        var work = Directory.CreateTempSubdirectory("cloister-kms-apps-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(work, recursive: true);
        var layout = Path.Combine(work, "layout");
        var bundle = Path.Combine(work, "bundle");
        var image = $"{layout}:{BaseTag}";
        ExternalTool.Umoci("init", "--layout", layout);
        ExternalTool.Umoci("new", "--image", image);
        ExternalTool.Umoci("unpack", "--image", image, bundle);
        var rootfs = Path.Combine(bundle, "rootfs");
        foreach (var directory in new[] { "tmp", "proc", "dev", "run", "etc", "app/js", "app/dotnet" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, directory));
        }

        File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0b1_111_111_111);
        // Each executable at its path, with what the loader maps for it at the paths ldd names (where they are
        // found in the image, which has no ld.so.cache), and the two libraries .NET opens itself for its crypto.
        var libraries = new SortedSet<string>(StringComparer.Ordinal) { "/lib/x86_64-linux-gnu/libssl.so.3", "/lib/x86_64-linux-gnu/libcrypto.so.3" };
        libraries.UnionWith(Ldd(node));
        libraries.UnionWith(Ldd(dotnetApp));
        foreach (var library in libraries)
        {
            Copy(library, rootfs + library);
        }

        Copy(node, rootfs + Node);
        Copy(dotnetApp, rootfs + DotnetApp);
        foreach (var name in new[] { "app.mjs", "package.json", "package-lock.json", "node_modules" })
        {
            ExternalTool.Run("cp", "coreutils", "-a", Path.Combine(js, name), Path.Combine(rootfs, "app", "js", name));
        }

        ExternalTool.Umoci("repack", "--image", image, bundle);
        return layout;
    }

    /// <summary>The absolute paths ldd names for <paramref name="executable"/>: its libraries and its loader.</summary>
    private static IEnumerable<string> Ldd(string executable)
    {
        foreach (var line in ExternalTool.Run("ldd", "libc-bin", executable).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.Contains("not found", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"ldd {executable}: {line}");
            }

            var target = line.Contains("=>", StringComparison.Ordinal) ? line[(line.IndexOf("=>", StringComparison.Ordinal) + 2)..].Trim() : line;
            var path = target.Split(' ')[0];
            if (path.StartsWith('/'))
            {
                yield return path;
            }
        }
    }

    // The file itself, not a link into this machine's tree: the image has none of its symlinked directories.
    private static void Copy(string source, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        ExternalTool.Run("cp", "coreutils", "-L", "--preserve=mode", source, destination);
    }
}
