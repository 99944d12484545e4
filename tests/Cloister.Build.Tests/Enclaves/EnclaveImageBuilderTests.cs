using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Build.Enclaves;
using Cloister.Build.Images.Registry;
using Cloister.Build.Layers;
using Cloister.Build.Manifests;
using Cloister.Build.RuntimeBundles;
using Cloister.Build.Supervisor;
using Cloister.Build.Tests.Layers;
using Cloister.Runtime.Manifest;
using Cloister.Testing;

namespace Cloister.Build.Tests.Enclaves;

/// <summary>
/// The whole build from a manifest: umoci-made images in, EIFs out, read back with our own EIF and cpio readers and
/// compared with what umoci itself unpacks.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EnclaveImageBuilderTests : IDisposable
{
    private static readonly DateTimeOffset s_buildTime = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly ScratchDirectory _scratch = new();

    public EnclaveImageBuilderTests() => TestImages.BuildSample(_scratch.Combine("image"), "v1");

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Runtime_none_puts_exactly_the_image_and_nitro_clis_cmd_and_env_in_the_customer_ramdisk()
    {
        var result = await BuildAsync("name: plain\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None);

        var ramdisk = ReadCustomerRamdisk(result.ImagePath);
        // nitro-cli's rule: Cmd when the image has one, else Entrypoint, never both.
        Assert.Equal("--serve\n8080\n", ramdisk.Text("cmd"));
        Assert.Equal("PATH=/usr/bin:/bin\nMODE=enclave\n", ramdisk.Text("env"));
        Assert.DoesNotContain(ramdisk.Entries, e => e.Name.StartsWith("rootfs/cloister", StringComparison.Ordinal));

        var unpacked = _scratch.Combine("unpacked");
        ExternalTool.Umoci("unpack", "--image", _scratch.Combine("image") + ":v1", unpacked);
        var onDisk = Directory.EnumerateFileSystemEntries(Path.Combine(unpacked, "rootfs"), "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Path.Combine(unpacked, "rootfs"), path))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var path in onDisk)
        {
            var entry = ramdisk.Find("rootfs/" + path);
            var full = Path.Combine(unpacked, "rootfs", path);
            var info = new FileInfo(full);
            if (info.LinkTarget is { } target)
            {
                Assert.Equal((CpioEntryType.SymbolicLink, target), (entry.Type, entry.LinkTarget));
            }
            else if (Directory.Exists(full))
            {
                Assert.Equal(CpioEntryType.Directory, entry.Type);
            }
            else
            {
                Assert.Equal(File.ReadAllBytes(full), ramdisk.Data[entry.Name]);
                Assert.Equal((int)File.GetUnixFileMode(full), entry.Permissions);
            }
        }

        // What the image leaves out but Docker's init layer and linuxkit add (spec §3.4).
        Assert.Equal("/run/resolvconf/resolv.conf", ramdisk.Find("rootfs/etc/resolv.conf").LinkTarget);
        Assert.Equal(160, ramdisk.Data["rootfs/etc/hosts"].Length);
        Assert.DoesNotContain(ramdisk.Entries, e => e.Name == "rootfs/var/old/notes.txt");
    }

    [Fact]
    public async Task The_default_runtime_adds_the_supervisor_its_launch_spec_and_a_cmd_that_starts_it()
    {
        var result = await BuildAsync(
            "name: app\nimage: oci-layout:./image:v1\ncmd: [\"--serve\", \"9090\"]\nenv: {MODE: test}\n", EnclaveRuntime.Cloister);

        var ramdisk = ReadCustomerRamdisk(result.ImagePath);
        Assert.Equal(string.Concat(SupervisorBundle.Command().Select(line => line + "\n")), ramdisk.Text("cmd"));
        Assert.Equal(string.Concat(SupervisorBundle.Environment.Select(line => line + "\n")), ramdisk.Text("env"));
        Assert.Equal(File.ReadAllBytes("/usr/bin/gzip"), ramdisk.Data["rootfs" + SupervisorBundle.ExecutablePath]);
        Assert.Contains(ramdisk.Entries, e => e.Name == "rootfs" + SupervisorBundle.LoaderPath);
        foreach (var file in s_runtime.Value.Entries.Where(entry => !entry.IsDirectory))
        {
            using var content = file.OpenRead();
            using var copy = new MemoryStream();
            content.CopyTo(copy);
            Assert.Equal(copy.ToArray(), ramdisk.Data["rootfs/" + file.Path]);
        }

        var spec = EnclaveLaunchSpecJson.Deserialize(ramdisk.Data["rootfs" + EnclavePaths.LaunchSpec]);
        Assert.Equal(["/usr/bin/tool", "--serve", "9090"], spec.ResolveArguments());
        Assert.Equal(["PATH=/usr/bin:/bin", "MODE=test"], spec.ResolveEnvironment());
        Assert.Equal(("/app", "1000:1000"), (spec.Image.WorkingDir, spec.Image.User));
        // The image's own files are all still there, beneath the supervisor's.
        Assert.Equal("hello from layer one\n", Encoding.UTF8.GetString(ramdisk.Data["rootfs/etc/hello"]));
    }

    [Fact]
    public async Task The_runtime_digest_is_recorded_in_the_metadata_and_in_measurements_json_and_absent_without_the_runtime()
    {
        var result = await BuildAsync("name: app\nimage: oci-layout:./image:v1\n", EnclaveRuntime.Cloister);

        using (var eif = EifReader.Open(result.ImagePath))
        {
            var cloister = eif.ReadMetadata()!.CustomMetadata!.Value.GetProperty("cloister");
            Assert.Equal(s_runtime.Value.Digest, cloister.GetProperty("runtime_digest").GetString());
            Assert.Equal("0.1.0", cloister.GetProperty("runtime_version").GetString());
        }

        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(result.MeasurementsPath)))
        {
            Assert.Equal(s_runtime.Value.Digest, json.RootElement.GetProperty("CloisterRuntime").GetProperty("Digest").GetString());
            Assert.Equal(Convert.ToHexStringLower(result.Measurements.Pcr2), json.RootElement.GetProperty("Measurements").GetProperty("PCR2").GetString());
        }

        Assert.Equal(File.ReadAllText(result.MeasurementsPath), result.MeasurementsJson + "\n");
        var none = await BuildAsync("name: app\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None, output: "none");
        Assert.DoesNotContain("CloisterRuntime", File.ReadAllText(none.MeasurementsPath), StringComparison.Ordinal);
        using var noneEif = EifReader.Open(none.ImagePath);
        Assert.False(noneEif.ReadMetadata()!.CustomMetadata!.Value.GetProperty("cloister").TryGetProperty("runtime_digest", out _));
    }

    [Fact]
    public async Task Without_blobs_the_image_is_simulation_only_and_says_so_in_what_is_measured()
    {
        var result = await BuildAsync("name: sim\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None);

        Assert.True(result.SimulationOnly);
        using var eif = EifReader.Open(result.ImagePath);
        Assert.Equal(0, eif.Sections.Single(s => s.Type == EifSectionType.Kernel).Size);
        Assert.Equal(EnclaveImageBuilder.SimulationOnlyCmdline, Encoding.UTF8.GetString(ReadSection(eif, EifSectionType.Cmdline)));
        Assert.True(eif.ReadMetadata()!.CustomMetadata!.Value.GetProperty("cloister").GetProperty("simulation_only").GetBoolean());
        Assert.Equal(["dev"], ReadEntries(ReadSection(eif, EifSectionType.Ramdisk, index: 0)).Entries.Select(e => e.Name));
    }

    [Fact]
    public async Task With_blobs_the_kernel_cmdline_and_bootstrap_ramdisk_come_from_them_and_pcr1_measures_them()
    {
        var blobs = FakeBlobs();

        var result = await BuildAsync("name: real\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None, NitroBlobs.Open(blobs, EifArchitecture.X64));

        Assert.False(result.SimulationOnly);
        using var eif = EifReader.Open(result.ImagePath);
        Assert.Equal(File.ReadAllBytes(Path.Combine(blobs, "bzImage")), ReadSection(eif, EifSectionType.Kernel));
        Assert.Equal("reboot=k panic=30", Encoding.UTF8.GetString(ReadSection(eif, EifSectionType.Cmdline)));
        using var expectedBootstrap = new MemoryStream();
        BootstrapRamdisk.WriteFromBlobs(expectedBootstrap, blobs);
        Assert.Equal(expectedBootstrap.ToArray(), ReadSection(eif, EifSectionType.Ramdisk, index: 0));
        var pcr1 = Pcr.ExtendZero(SHA384.HashData([.. File.ReadAllBytes(Path.Combine(blobs, "bzImage")), .. "reboot=k panic=30"u8, .. expectedBootstrap.ToArray()]));
        Assert.Equal(pcr1, result.Measurements.Pcr1);
        Assert.Equal(("Linux", "4.14.256"), (eif.ReadMetadata()!.OperatingSystem, eif.ReadMetadata()!.KernelVersion));
    }

    [Fact]
    public async Task Blobs_for_another_architecture_are_refused_before_anything_is_written()
    {
        var blobs = FakeBlobs();
        File.Copy(Path.Combine(blobs, "bzImage"), Path.Combine(blobs, "Image"));

        var ex = await Assert.ThrowsAsync<EnclaveBuildException>(
            () => BuildAsync("name: arm\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None, NitroBlobs.Open(blobs, EifArchitecture.Arm64)));

        Assert.Contains("Arm64", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_scratch.Combine("out")));
    }

    [Theory]
    [InlineData("bzImage", "the blobs kernel")]
    [InlineData("init", "the blobs init")]
    [InlineData("nsm.ko", "the blobs nsm.ko")]
    [InlineData("cmdline", "the blobs cmdline")]
    [InlineData("bzImage.config", "the blobs kernel config")]
    public async Task A_blob_that_is_an_endless_device_is_refused_naming_it_and_no_image_is_written(string blob, string what)
    {
        var blobs = FakeBlobs();
        File.Delete(Path.Combine(blobs, blob));
        File.CreateSymbolicLink(Path.Combine(blobs, blob), "/dev/zero");

        var ex = await Assert.ThrowsAnyAsync<IOException>(
            () => BuildAsync("name: endless\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None, NitroBlobs.Open(blobs, EifArchitecture.X64)));

        Assert.StartsWith($"{what} {Path.Combine(blobs, blob)}: ", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_scratch.Combine("out", "endless.eif")));
    }

    [Fact]
    public async Task An_empty_blobs_kernel_is_refused()
    {
        var blobs = FakeBlobs();
        File.WriteAllBytes(Path.Combine(blobs, "bzImage"), []);

        var ex = await Assert.ThrowsAsync<EnclaveBuildException>(
            () => BuildAsync("name: empty\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None, NitroBlobs.Open(blobs, EifArchitecture.X64)));

        Assert.Contains("is empty: an enclave needs a kernel to boot", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_scratch.Combine("out", "empty.eif")));
    }

    [Fact]
    public async Task Builds_of_the_same_inputs_are_identical_and_the_build_time_changes_no_pcr()
    {
        const string manifest = "name: same\nimage: oci-layout:./image:v1\n";
        var first = await BuildAsync(manifest, EnclaveRuntime.Cloister, output: "first");
        var second = await BuildAsync(manifest, EnclaveRuntime.Cloister, output: "second");
        var later = await BuildAsync(manifest, EnclaveRuntime.Cloister, output: "later", buildTime: s_buildTime.AddDays(400));

        Assert.Equal(File.ReadAllBytes(first.ImagePath), File.ReadAllBytes(second.ImagePath));
        Assert.Equal(File.ReadAllText(first.MeasurementsPath), File.ReadAllText(later.MeasurementsPath));
        Assert.NotEqual(File.ReadAllBytes(first.ImagePath), File.ReadAllBytes(later.ImagePath));
    }

    [Fact]
    public async Task Measurements_json_is_what_nitro_cli_prints_and_matches_the_image()
    {
        var result = await BuildAsync("name: m\nimage: oci-layout:./image:v1\n", EnclaveRuntime.None);

        using var eif = EifReader.Open(result.ImagePath);
        var inspected = eif.Inspect();
        Assert.True(inspected.CrcMatches);
        Assert.Equal(EnclaveMeasurementsJson.Write(inspected.Measurements, null) + "\n", File.ReadAllText(result.MeasurementsPath));
        Assert.StartsWith("{\n  \"Measurements\": {\n    \"HashAlgorithm\"", File.ReadAllText(result.MeasurementsPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hostile_layer_fails_the_build_and_leaves_no_image()
    {
        var layout = _scratch.Combine("hostile");
        HostileImage(layout);

        var ex = await Assert.ThrowsAsync<LayerException>(() => BuildAsync("name: bad\nimage: oci-layout:./hostile:v1\n", EnclaveRuntime.None));

        Assert.Equal(LayerFailure.PathTraversal, ex.Failure);
        Assert.Contains("../../etc/passwd", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_scratch.Combine("out")) && Directory.EnumerateFiles(_scratch.Combine("out")).Any());
    }

    [Fact]
    public async Task A_runtime_file_modified_in_place_after_its_check_fails_the_build_and_leaves_nothing_behind()
    {
        var path = _scratch.Combine("runtime.tar");
        using (var file = File.Create(path))
        {
            RuntimeBundle.Write(SupervisorBundle.Create("/usr/bin/gzip"), new RuntimeProvenance { Version = "0.1.0", Packages = [] }, file);
        }

        using var bundle = RuntimeBundle.Read(path);
        var supervisor = File.ReadAllBytes(path).AsSpan().IndexOf(File.ReadAllBytes("/usr/bin/gzip"));
        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            // Same length, one byte of the supervisor: only its bytes can tell, and they are read when the ramdisk is written.
            var one = new byte[1];
            RandomAccess.Read(file, one, supervisor + 1000);
            one[0] ^= 0xff;
            RandomAccess.Write(file, one, supervisor + 1000);
        }

        var error = await Assert.ThrowsAsync<RuntimeBundleException>(
            () => BuildAsync("name: app\nimage: oci-layout:./image:v1\n", EnclaveRuntime.Cloister, output: "changed", bundle: bundle));

        Assert.Equal(RuntimeBundleError.ChangedAfterCheck, error.Error);
        Assert.Equal($"{path}: cloister/bin/cloister-enclave changed after the runtime was checked: its bytes are not the ones hashed", error.Message);
        Assert.False(Directory.Exists(_scratch.Combine("changed")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_scratch.Combine("tmp")));
    }

    [Theory]
    [InlineData("oci-layout:image:v1", "/base/image:v1")]
    [InlineData("oci-layout:./image", "/base/image")]
    [InlineData("oci-layout:/abs/image@sha256:00", "/abs/image@sha256:00")]
    [InlineData("docker-archive:../img.tar", "/img.tar")]
    [InlineData("registry.example.com/app:1", "registry.example.com/app:1")]
    public void Relative_local_image_paths_are_relative_to_the_manifest(string image, string resolved)
    {
        var actual = EnclaveImageBuilder.ResolveLocalPath(image, "/base");

        Assert.EndsWith(resolved, actual, StringComparison.Ordinal);
        Assert.DoesNotContain("./", actual, StringComparison.Ordinal);
    }

    // Any real dynamically linked ELF executable shows the bundling; the CLI's tests use the real runtime.
    private static readonly Lazy<RuntimeBundle> s_runtime = new(() =>
    {
        using var buffer = new MemoryStream();
        var provenance = new RuntimeProvenance { Version = "0.1.0", Packages = [] };
        RuntimeBundle.Write(SupervisorBundle.Create("/usr/bin/gzip"), provenance, buffer);
        return RuntimeBundle.Read(buffer.ToArray(), "gzip runtime");
    });

    private async Task<EnclaveBuildResult> BuildAsync(
        string yaml, EnclaveRuntime runtime, NitroBlobs? blobs = null, string output = "out", DateTimeOffset? buildTime = null, RuntimeBundle? bundle = null) =>
        await EnclaveImageBuilder.BuildAsync(
            EnclaveManifestReader.Parse(yaml),
            new EnclaveBuildOptions
            {
                OutputDirectory = _scratch.Combine(output),
                TemporaryDirectory = _scratch.Combine("tmp"),
                Registry = new RegistryOptions(_scratch.Combine("cache")),
                BaseDirectory = _scratch.Path,
                Blobs = blobs,
                Runtime = runtime,
                RuntimeBundle = runtime == EnclaveRuntime.Cloister ? bundle ?? s_runtime.Value : null,
                BuildTime = buildTime ?? s_buildTime,
            });

    private string FakeBlobs()
    {
        // Placeholder bytes stand in for AWS's blobs: the test checks where each one goes, not that it boots.
        var blobs = Directory.CreateDirectory(_scratch.Combine("blobs")).FullName;
        File.WriteAllBytes(Path.Combine(blobs, "bzImage"), RandomNumberGenerator.GetBytes(4096));
        File.WriteAllText(Path.Combine(blobs, "bzImage.config"), "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel Configuration\n");
        File.WriteAllText(Path.Combine(blobs, "cmdline"), "reboot=k panic=30\n");
        File.WriteAllBytes(Path.Combine(blobs, "init"), RandomNumberGenerator.GetBytes(1000));
        File.WriteAllBytes(Path.Combine(blobs, "nsm.ko"), RandomNumberGenerator.GetBytes(700));
        return blobs;
    }

    private static void HostileImage(string layout)
    {
        ExternalTool.Umoci("init", "--layout", layout);
        ExternalTool.Umoci("new", "--image", layout + ":v1");
        var layer = Path.Combine(Path.GetDirectoryName(layout)!, "hostile.tar");
        using (var file = File.Create(layer))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "../../etc/passwd") { DataStream = new MemoryStream("x"u8.ToArray()) });
        }

        ExternalTool.Umoci("raw", "add-layer", "--image", layout + ":v1", layer);
        ExternalTool.Umoci("config", "--image", layout + ":v1", "--config.cmd", "/x");
    }

    private static byte[] ReadSection(EifReader eif, EifSectionType type, int index = 0)
    {
        using var stream = eif.OpenSection(eif.Sections.Where(s => s.Type == type).ElementAt(index));
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static Ramdisk ReadCustomerRamdisk(string eifPath)
    {
        using var eif = EifReader.Open(eifPath);
        return ReadEntries(ReadSection(eif, EifSectionType.Ramdisk, index: 1));
    }

    private static Ramdisk ReadEntries(byte[] cpio)
    {
        var entries = new List<CpioEntry>();
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var reader = new CpioReader(new MemoryStream(cpio));
        while (reader.GetNextEntry() is { } entry)
        {
            entries.Add(entry);
            if (entry.Type == CpioEntryType.RegularFile && entry.DataStream is { } stream)
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                data[entry.Name] = copy.ToArray();
            }
        }

        return new Ramdisk(entries, data);
    }

    private sealed record Ramdisk(List<CpioEntry> Entries, Dictionary<string, byte[]> Data)
    {
        // Later entries win, as the kernel's unpacker applies them in order.
        public CpioEntry Find(string name) => Entries.Last(e => e.Name.TrimEnd('/') == name);

        public string Text(string name) => Encoding.UTF8.GetString(Data[name]);
    }
}
