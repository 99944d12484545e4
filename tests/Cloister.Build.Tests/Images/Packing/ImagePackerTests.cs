using System.Formats.Tar;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Cloister.Build.Images;
using Cloister.Build.Images.Packing;
using Cloister.Build.Images.Registry;
using Cloister.Build.Supervisor;
using Cloister.Build.Tests.Layers;
using Cloister.Runtime.Files;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images.Packing;

/// <summary>
/// <see cref="ImagePacker"/> on a real dynamically linked executable of this machine (the <c>dotnet</c> host running the
/// tests: libstdc++, libgcc_s, libm, libc and the loader), read back by our OCI layout source, umoci and skopeo.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class ImagePackerTests : IDisposable
{
    private static readonly DateTimeOffset s_pinned = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
    private readonly ScratchDirectory _scratch = new();
    private readonly ImageSourceScope _sources = new();

    private static string Executable => Environment.ProcessPath!;

    [Fact]
    public async Task The_image_reads_back_through_our_OCI_layout_source_with_its_config_and_files()
    {
        var added = _scratch.Combine("added");
        Directory.CreateDirectory(Path.Combine(added, "sub"));
        File.WriteAllText(Path.Combine(added, "sub", "data.txt"), "payload\n");
        File.CreateSymbolicLink(Path.Combine(added, "link"), "sub/data.txt");
        var single = _scratch.Combine("single.conf");
        File.WriteAllText(single, "key=value\n");
        File.SetUnixFileMode(single, (UnixFileMode)0b110_000_000);

        var result = Pack(_scratch.Combine("layout"), "v1", Options() with
        {
            ExecutablePath = "/opt/bin/host",
            Additions = [new ImagePackAddition(added, "/srv/added"), new ImagePackAddition(single, "/etc/app.conf")],
            Cmd = ["/opt/bin/host", "--serve"],
            Env = ["PATH=/opt/bin", "MODE=enclave"],
            WorkingDir = "/srv",
            User = new ImageUser(1000, 1001),
            ExposedPorts = [ExposedPort.Parse("8080"), ExposedPort.Parse("53/udp")],
        });

        var image = await _sources.ResolveAsync($"oci-layout:{_scratch.Combine("layout")}:v1", new RegistryOptions(_scratch.Combine("cache")));
        Assert.Equal(result.Manifest.Digest, image.ManifestDigest);
        Assert.Equal(result.Config.Digest, image.Config.Digest);
        var config = image.Configuration;
        Assert.Equal(ImagePlatform.LinuxAmd64.ToString(), config.Platform!.ToString());
        // With a Cmd of its own the image gets no default Entrypoint: the Cmd is the whole command.
        Assert.Empty(config.Entrypoint);
        Assert.Equal(["/opt/bin/host", "--serve"], config.Cmd);
        Assert.Equal(["PATH=/opt/bin", "MODE=enclave"], config.Env);
        Assert.Equal("/srv", config.WorkingDir);
        Assert.Equal("1000:1001", config.User);
        Assert.Equal(s_pinned, config.Created);
        Assert.Equal([result.DiffId], config.DiffIds);
        var layer = Assert.Single(image.Layers);
        Assert.Equal(ImageMediaTypes.OciLayerGzip, layer.Descriptor.MediaType);
        Assert.Equal(result.Layer.Digest, layer.Descriptor.Digest);
        Assert.Equal(result.Layer.Size, layer.Descriptor.Size);

        var entries = await PackedEntry.ReadAsync(layer);
        var names = entries.Select(e => e.Path).ToArray();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.All(entries, e => Assert.Equal(s_pinned, e.ModificationTime));
        var byPath = entries.ToDictionary(e => e.Path);
        Assert.Equal(await File.ReadAllBytesAsync(Executable), byPath["opt/bin/host"].Content);
        Assert.Equal((UnixFileMode)0b111_101_101, byPath["opt/bin/host"].Mode);
        Assert.Equal("payload\n"u8.ToArray(), byPath["srv/added/sub/data.txt"].Content);
        Assert.Equal((TarEntryType.SymbolicLink, "sub/data.txt"), (byPath["srv/added/link"].Type, byPath["srv/added/link"].LinkName));
        Assert.Equal((UnixFileMode)0b110_000_000, byPath["etc/app.conf"].Mode);
        Assert.Equal((UnixFileMode)0b1_111_111_111, byPath["tmp"].Mode);
        Assert.Equal(TarEntryType.Directory, byPath["srv"].Type);
        Assert.Equal(
            "root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1001:app:/home/app:/sbin/nologin\n",
            Encoding.UTF8.GetString(byPath["etc/passwd"].Content));
        Assert.Equal("root:x:0:\napp:x:1001:\n", Encoding.UTF8.GetString(byPath["etc/group"].Content));
        Assert.Equal((1000, 1001), (byPath["home/app"].Uid, byPath["home/app"].Gid));
        Assert.All(entries.Where(e => e.Path != "home/app"), e => Assert.Equal((0, 0), (e.Uid, e.Gid)));
    }

    [Fact]
    public async Task The_layer_holds_the_loader_at_PT_INTERP_and_every_DT_NEEDED_of_every_library()
    {
        var result = Pack(_scratch.Combine("layout"), "latest", Options() with { WithOpenSsl = true, WithCaCertificates = true });
        var image = await _sources.ResolveAsync($"oci-layout:{_scratch.Combine("layout")}", new RegistryOptions(_scratch.Combine("cache")));
        var byPath = (await PackedEntry.ReadAsync(image.Layers[0])).ToDictionary(e => e.Path);

        var program = ElfLinkInfo.Read(Executable);
        var interpreter = byPath[program.Interpreter!.TrimStart('/')];
        Assert.Equal((TarEntryType.SymbolicLink, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), (interpreter.Type, interpreter.LinkName));
        var libraries = byPath.Values.Where(e => e.Path.StartsWith("lib/x86_64-linux-gnu/", StringComparison.Ordinal)).ToArray();
        Assert.Contains("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", libraries.Select(l => l.Path));
        Assert.Contains("lib/x86_64-linux-gnu/libssl.so.3", libraries.Select(l => l.Path));
        Assert.Contains("lib/x86_64-linux-gnu/libcrypto.so.3", libraries.Select(l => l.Path));

        // The closure is closed: whatever the executable or any packed library needs is packed.
        var needed = new HashSet<string>(program.Needed, StringComparer.Ordinal);
        foreach (var library in libraries)
        {
            needed.UnionWith(ElfLinkInfo.Read(new MemoryStream(library.Content)).Needed);
        }

        Assert.NotEmpty(program.Needed);
        Assert.All(needed, soName => Assert.True(byPath.ContainsKey("lib/x86_64-linux-gnu/" + soName), $"{soName} is needed but not packed"));
        Assert.Equal(
            await File.ReadAllBytesAsync("/etc/ssl/certs/ca-certificates.crt"),
            byPath["etc/ssl/certs/ca-certificates.crt"].Content);
        Assert.Equal("/etc/ssl/certs/ca-certificates.crt", byPath["usr/lib/ssl/cert.pem"].LinkName);
        Assert.Equal(result.Entries.Count, byPath.Count);
    }

    [Fact]
    public void Two_packs_of_the_same_inputs_are_byte_identical_and_the_gzip_header_is_fixed()
    {
        var first = Pack(_scratch.Combine("one"), "latest", Options());
        var second = Pack(_scratch.Combine("two"), "latest", Options());

        Assert.Equal(first.Manifest.Digest, second.Manifest.Digest);
        var files = Directory.GetFiles(_scratch.Combine("one"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_scratch.Combine("one"), f))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(
            files,
            Directory.GetFiles(_scratch.Combine("two"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_scratch.Combine("two"), f)).Order(StringComparer.Ordinal));
        Assert.Equal(5, files.Length); // oci-layout, index.json, manifest, config, layer
        foreach (var file in files)
        {
            Assert.Equal(File.ReadAllBytes(_scratch.Combine("one", file)), File.ReadAllBytes(_scratch.Combine("two", file)));
        }

        var layer = File.ReadAllBytes(TestImages.BlobPath(_scratch.Combine("one"), first.Layer.Digest));
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 }, layer[..8]);
    }

    [Fact]
    public void Umoci_unpacks_the_same_tree_the_layer_holds()
    {
        var added = _scratch.Combine("added");
        Directory.CreateDirectory(added);
        File.WriteAllText(Path.Combine(added, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(added, "run.sh"), (UnixFileMode)0b111_101_000);
        File.CreateSymbolicLink(Path.Combine(added, "current"), "run.sh");
        var layout = _scratch.Combine("layout");
        var result = Pack(layout, "v1", Options() with
        {
            Additions = [new ImagePackAddition(added, "/opt/added")],
            WithCaCertificates = true,
            User = new ImageUser(1000, 1000),
            WorkingDir = "/app",
        });
        var bundle = _scratch.Combine("bundle");

        ExternalTool.Umoci("unpack", "--image", $"{layout}:v1", bundle);

        var rootfs = Path.Combine(bundle, "rootfs");
        var unpacked = new SortedDictionary<string, PackedFile>(StringComparer.Ordinal);
        void Walk(DirectoryInfo directory)
        {
            foreach (var entry in directory.EnumerateFileSystemInfos())
            {
                var path = Path.GetRelativePath(rootfs, entry.FullName);
                unpacked[path] = entry switch
                {
                    { LinkTarget: { } target } => new PackedFile("link", 0, target, null),
                    DirectoryInfo => new PackedFile("directory", entry.UnixFileMode, null, null),
                    _ => new PackedFile("file", entry.UnixFileMode, null, PackedFile.Digest(File.ReadAllBytes(entry.FullName))),
                };

                // Links are compared as links: usr/lib/ssl/certs points at the host's /etc/ssl/certs from here.
                if (entry is DirectoryInfo { LinkTarget: null } child)
                {
                    Walk(child);
                }
            }
        }

        Walk(new DirectoryInfo(rootfs));

        var packed = new SortedDictionary<string, PackedFile>(StringComparer.Ordinal);
        foreach (var entry in result.Entries)
        {
            packed[entry.Path] = entry.Kind switch
            {
                RootfsEntryKind.Directory => new PackedFile("directory", entry.Mode, null, null),
                RootfsEntryKind.SymbolicLink => new PackedFile("link", 0, entry.LinkTarget, null),
                _ => new PackedFile("file", entry.Mode, null, PackedFile.Digest(ReadAll(entry))),
            };
        }

        var differences = packed.Keys.Union(unpacked.Keys)
            .Where(path => !packed.TryGetValue(path, out var ours) || !unpacked.TryGetValue(path, out var theirs) || ours != theirs)
            .Select(path => $"{path}: packed {packed.GetValueOrDefault(path)}, unpacked {unpacked.GetValueOrDefault(path)}");
        Assert.Empty(differences);
        Assert.Equal("/app", JsonDocument.Parse(File.ReadAllText(Path.Combine(bundle, "config.json"))).RootElement.GetProperty("process").GetProperty("cwd").GetString());
    }

    [Fact]
    public void Skopeo_inspects_the_layout_and_sees_our_digests()
    {
        var layout = _scratch.Combine("layout");
        var result = Pack(layout, "v2", Options() with { Entrypoint = ["/app/dotnet", "--info"], Env = ["A=1"] });

        using var inspected = JsonDocument.Parse(ExternalTool.Skopeo("inspect", $"oci:{layout}:v2"));
        var root = inspected.RootElement;
        Assert.Equal(result.Manifest.Digest, root.GetProperty("Digest").GetString());
        Assert.Equal("amd64", root.GetProperty("Architecture").GetString());
        Assert.Equal("linux", root.GetProperty("Os").GetString());
        Assert.Equal([result.Layer.Digest], root.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(["A=1"], root.GetProperty("Env").EnumerateArray().Select(e => e.GetString()));

        using var config = JsonDocument.Parse(ExternalTool.Skopeo("inspect", "--config", $"oci:{layout}:v2"));
        Assert.Equal(["/app/dotnet", "--info"], config.RootElement.GetProperty("config").GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Packing_into_an_existing_layout_keeps_its_other_tags_and_moves_a_reused_one()
    {
        var layout = _scratch.Combine("layout");
        var first = Pack(layout, "a", Options());
        var second = Pack(layout, "b", Options() with { Env = ["B=1"] });
        var moved = Pack(layout, "a", Options() with { Env = ["A=2"] });

        var options = new RegistryOptions(_scratch.Combine("cache"));
        Assert.Equal(second.Manifest.Digest, (await _sources.ResolveAsync($"oci-layout:{layout}:b", options)).ManifestDigest);
        Assert.Equal(moved.Manifest.Digest, (await _sources.ResolveAsync($"oci-layout:{layout}:a", options)).ManifestDigest);
        Assert.NotEqual(first.Manifest.Digest, moved.Manifest.Digest);
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
        Assert.Equal(2, index.RootElement.GetProperty("manifests").GetArrayLength());
    }

    [Fact]
    public void Packing_into_a_layout_whose_index_is_an_endless_device_is_refused_at_its_limit()
    {
        var layout = Directory.CreateDirectory(_scratch.Combine("endless")).FullName;
        File.CreateSymbolicLink(Path.Combine(layout, "index.json"), "/dev/zero");

        var ex = Assert.Throws<FileTooLargeException>(() => Pack(layout, "x", Options()));

        Assert.Equal($"the OCI layout index {Path.Combine(layout, "index.json")}: larger than the 4 MiB limit for it", ex.Message);
    }

    [Fact]
    public void A_missing_executable_is_FileNotFound()
    {
        var missing = _scratch.Combine("nope");
        var ex = Assert.Throws<FileNotFoundException>(() => Pack(_scratch.Combine("layout"), "x", Options() with { Executable = missing }));
        Assert.Equal(missing, ex.FileName);
    }

    [Fact]
    public void A_non_ELF_executable_is_refused_with_its_path_and_the_magic()
    {
        var script = _scratch.Combine("script.sh");
        File.WriteAllText(script, "#!/bin/sh\n# long enough to hold a whole ELF header, so the magic is what fails\necho hi\n");
        var ex = Assert.Throws<FormatException>(() => Pack(_scratch.Combine("layout"), "x", Options() with { Executable = script }));
        Assert.Contains(script, ex.Message, StringComparison.Ordinal);
        Assert.Contains("not an ELF file", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_scratch.Combine("layout")));
    }

    [Theory]
    [InlineData("NOVALUE")]
    [InlineData("=value")]
    public void An_environment_entry_that_is_not_NAME_equals_value_is_refused(string entry)
    {
        var ex = Assert.Throws<FormatException>(() => Pack(_scratch.Combine("layout"), "x", Options() with { Env = [entry] }));
        Assert.Contains($"'{entry}' is not NAME=value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_inputs_for_one_path_are_refused_naming_both()
    {
        var conf = _scratch.Combine("passwd");
        File.WriteAllText(conf, "evil::0:0::/:/bin/sh\n");
        var ex = Assert.Throws<FormatException>(() => Pack(_scratch.Combine("layout"), "x", Options() with { Additions = [new ImagePackAddition(conf, "/etc/passwd")] }));
        Assert.Contains("/etc/passwd would come both from --add", ex.Message, StringComparison.Ordinal);
        Assert.Contains("system files", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_where_a_directory_is_needed_is_refused()
    {
        var file = _scratch.Combine("file");
        File.WriteAllText(file, "x");
        var ex = Assert.Throws<FormatException>(() => Pack(_scratch.Combine("layout"), "x", Options() with { Additions = [new ImagePackAddition(file, "/app")] }));
        Assert.Contains("/app", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1000", 1000u, 1000u)]
    [InlineData("1000:50", 1000u, 50u)]
    [InlineData("0", 0u, 0u)]
    public void User_parses_UID_and_UID_GID(string text, uint uid, uint gid) =>
        Assert.Equal(new ImageUser(uid, gid), ImageUser.Parse(text));

    [Theory]
    [InlineData("app")]
    [InlineData("1000:")]
    [InlineData(":1000")]
    [InlineData("-1")]
    [InlineData("99999999999")]
    public void User_refuses_names_and_malformed_ids(string text) =>
        Assert.Contains("is not a decimal number", Assert.Throws<FormatException>(() => ImageUser.Parse(text)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("nocolon", "is not SRC:DEST")]
    [InlineData("src:", "is not SRC:DEST")]
    [InlineData("src:relative/path", "is not an absolute path")]
    [InlineData("src:/a/../etc", "'..'")]
    [InlineData("src:/", "names the image root")]
    public void Addition_refuses_malformed_SRC_DEST(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => ImagePackAddition.Parse(text)).Message, StringComparison.Ordinal);

    [Fact]
    public void Addition_splits_at_the_last_colon() =>
        Assert.Equal(new ImagePackAddition("dir:with:colons", "/dest"), ImagePackAddition.Parse("dir:with:colons:/dest"));

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("080")]
    [InlineData("80/sctp")]
    public void Exposed_port_refuses_what_is_not_PORT_tcp_or_udp(string text) =>
        Assert.Throws<FormatException>(() => ExposedPort.Parse(text));

    public void Dispose()
    {
        _sources.Dispose();
        _scratch.Dispose();
    }

    private static ImagePackOptions Options() => new() { Executable = Executable, ModificationTime = s_pinned };

    private static ImagePackResult Pack(string layout, string tag, ImagePackOptions options) =>
        ImagePacker.Pack(options, ImageReference.Parse($"oci-layout:{layout}:{tag}"));

    private static byte[] ReadAll(RootfsEntry entry)
    {
        using var stream = entry.OpenRead();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
