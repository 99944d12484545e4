using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Cloister.Testing;

/// <summary>
/// Builds real OCI image layouts with umoci: two layers (files, a symlink, an executable, then a whiteout), a config
/// with entrypoint, cmd, env, workdir and user, and times pinned so the digests are the same on every run.
/// </summary>
internal static class TestImages
{
    public const string Created = "2024-01-02T03:04:05Z";
    private const string TouchTime = "@1704164645";

    /// <summary>Builds the two-layer sample image into <paramref name="layout"/> (created if absent) under <paramref name="tag"/>.</summary>
    /// <param name="marker">Written to /etc/marker, so images that must not share blobs (corruption tests) differ.</param>
    public static void BuildSample(string layout, string tag, string architecture = "amd64", string marker = "sample")
    {
        if (!Directory.Exists(layout))
        {
            ExternalTool.Umoci("init", "--layout", layout);
        }

        var image = $"{layout}:{tag}";
        var bundle = Path.Combine(Path.GetTempPath(), "cloister-bundle-" + Guid.NewGuid().ToString("N"));
        try
        {
            ExternalTool.Umoci("new", "--image", image);
            ExternalTool.Umoci("unpack", "--image", image, bundle);
            var rootfs = Path.Combine(bundle, "rootfs");
            Write(rootfs, "etc/hello", "hello from layer one\n");
            Write(rootfs, "etc/marker", marker + "\n");
            Write(rootfs, "var/old/notes.txt", "to be deleted by layer two\n");
            Write(rootfs, "usr/bin/tool", "#!/bin/sh\necho tool\n");
            ExternalTool.Run("chmod", "coreutils", "0755", Path.Combine(rootfs, "usr/bin/tool"));
            File.CreateSymbolicLink(Path.Combine(rootfs, "etc/hello.link"), "hello");
            Repack(image, bundle, "layer one");

            Directory.Delete(Path.Combine(rootfs, "var/old"), recursive: true);
            Write(rootfs, "app/data.txt", string.Concat(Enumerable.Repeat("layer two data ", 4096)));
            Repack(image, bundle, "layer two");

            ExternalTool.Umoci(
                "config", "--image", image,
                "--created", Created, "--history.created", Created, "--history.created_by", "umoci config",
                "--architecture", architecture, "--os", "linux",
                "--config.entrypoint", "/usr/bin/tool", "--config.cmd=--serve", "--config.cmd=8080",
                "--config.env", "PATH=/usr/bin:/bin", "--config.env", "MODE=enclave",
                "--config.workingdir", "/app", "--config.user", "1000:1000");
        }
        finally
        {
            if (Directory.Exists(bundle))
            {
                Directory.Delete(bundle, recursive: true);
            }
        }
    }

    /// <summary>
    /// Builds amd64 and arm64 variants of the sample into one layout and ties them together with an OCI image index
    /// tagged <paramref name="tag"/> (umoci does not write indexes; the index is the only hand-written JSON).
    /// </summary>
    public static void BuildMultiPlatform(string layout, string tag)
    {
        BuildSample(layout, tag + "-amd64", "amd64", "amd64 image");
        BuildSample(layout, tag + "-arm64", "arm64", "arm64 image");
        var indexJsonPath = Path.Combine(layout, "index.json");
        var indexJson = JsonNode.Parse(File.ReadAllText(indexJsonPath))!;
        var entries = indexJson["manifests"]!.AsArray();
        JsonNode Entry(string suffix, JsonObject platform)
        {
            var source = entries.Single(e => (string?)e!["annotations"]?["org.opencontainers.image.ref.name"] == tag + suffix)!;
            return new JsonObject
            {
                ["mediaType"] = (string?)source["mediaType"],
                ["digest"] = (string?)source["digest"],
                ["size"] = (long)source["size"]!,
                ["platform"] = platform,
            };
        }

        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = new JsonArray(
                Entry("-amd64", new JsonObject { ["architecture"] = "amd64", ["os"] = "linux" }),
                Entry("-arm64", new JsonObject { ["architecture"] = "arm64", ["os"] = "linux", ["variant"] = "v8" })),
        };
        var bytes = Encoding.UTF8.GetBytes(index.ToJsonString());
        var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
        File.WriteAllBytes(Path.Combine(layout, "blobs", "sha256", hex), bytes);
        entries.Add(new JsonObject
        {
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["digest"] = "sha256:" + hex,
            ["size"] = bytes.Length,
            ["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = tag },
        });
        File.WriteAllText(indexJsonPath, indexJson.ToJsonString());
    }

    /// <summary>The path of a blob in an OCI layout.</summary>
    public static string BlobPath(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);

    private static void Write(string rootfs, string path, string content)
    {
        var full = Path.Combine(rootfs, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }

    private static void Repack(string image, string bundle, string step)
    {
        // umoci records file times in the layer: pin them (links too) so the layer digests are stable.
        ExternalTool.Run("find", "findutils", Path.Combine(bundle, "rootfs"), "-exec", "touch", "-h", "-d", TouchTime, "{}", "+");
        ExternalTool.Umoci("repack", "--refresh-bundle", "--image", image, "--history.created", Created, "--history.created_by", step, bundle);
    }
}
