using System.Text.Json;

namespace Cloister.Build.Images;

/// <summary>Parses an OCI or Docker image config blob.</summary>
internal static class ImageConfigReader
{
    // A config may omit "config" altogether (an image with no run settings); read it as an empty object.
    private static readonly JsonElement s_noConfig = JsonDocument.Parse("{}").RootElement.Clone();

    /// <param name="json">The config blob, already verified against its digest.</param>
    /// <param name="document">Names the blob in errors, e.g. "config sha256:… of oci-layout:img:v1".</param>
    public static ImageConfig Read(ReadOnlyMemory<byte> json, string document)
    {
        var fields = new JsonFields(document);
        using var parsed = fields.Parse(json);
        var root = fields.Object(parsed.RootElement, "$");
        var os = fields.OptionalString(root, "os", "os");
        var architecture = fields.OptionalString(root, "architecture", "architecture");
        var platform = string.IsNullOrEmpty(os) || string.IsNullOrEmpty(architecture)
            ? null
            : new ImagePlatform(os, architecture, fields.OptionalString(root, "variant", "variant"));

        var rootfs = fields.OptionalObject(root, "rootfs", "rootfs") ?? throw fields.Missing("rootfs");
        var rootfsType = fields.RequiredString(rootfs, "type", "rootfs.type");
        if (rootfsType != "layers")
        {
            throw fields.Invalid("rootfs.type", $"is '{rootfsType}', not 'layers'");
        }

        var diffIds = fields.StringArray(rootfs, "diff_ids", "rootfs.diff_ids");
        for (var i = 0; i < diffIds.Count; i++)
        {
            BlobDigest.Parse(diffIds[i], $"{document}: rootfs.diff_ids[{i}]");
        }

        var history = fields.Array(root, "history", "history")
            .Select(item =>
            {
                var entry = fields.Object(item.Element, item.Path);
                return new ImageHistoryEntry(
                    fields.OptionalTime(entry, "created", item.Path + ".created"),
                    fields.OptionalString(entry, "created_by", item.Path + ".created_by"),
                    fields.OptionalString(entry, "comment", item.Path + ".comment"),
                    fields.OptionalBoolean(entry, "empty_layer", item.Path + ".empty_layer"));
            })
            .ToArray();

        var config = fields.OptionalObject(root, "config", "config") ?? s_noConfig;
        return new ImageConfig(
            platform,
            fields.StringArray(config, "Entrypoint", "config.Entrypoint"),
            fields.StringArray(config, "Cmd", "config.Cmd"),
            fields.StringArray(config, "Env", "config.Env"),
            NullIfEmpty(fields.OptionalString(config, "WorkingDir", "config.WorkingDir")),
            NullIfEmpty(fields.OptionalString(config, "User", "config.User")),
            diffIds,
            history,
            fields.OptionalTime(root, "created", "created"));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
