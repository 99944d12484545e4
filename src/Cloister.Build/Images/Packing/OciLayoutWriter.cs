using System.Text.Json;
using Cloister.Runtime.Files;

namespace Cloister.Build.Images.Packing;

/// <summary>
/// Writes blobs into an OCI image layout directory and tags a manifest in its <c>index.json</c>, keeping the layout's
/// other tags (as umoci and skopeo do); creates the layout when the directory holds none.
/// </summary>
internal sealed class OciLayoutWriter
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";
    private readonly string _directory;
    private readonly string _blobs;

    public OciLayoutWriter(string directory)
    {
        _directory = directory;
        _blobs = Path.Combine(directory, "blobs", "sha256");
        Directory.CreateDirectory(_blobs);
    }

    public ImageDescriptor WriteBlob(string mediaType, ReadOnlySpan<byte> content)
    {
        var digest = BlobDigest.Compute(content);
        File.WriteAllBytes(Path.Combine(_blobs, digest.Hex), content);
        return new ImageDescriptor(mediaType, digest.ToString(), content.Length);
    }

    /// <summary>Streams a blob whose digest is known only at its end: into a temporary file, then renamed to its digest.</summary>
    public T WriteBlob<T>(Func<Stream, T> write, Func<T, string> digestOf)
    {
        var temporary = Path.Combine(_blobs, $".pack-{Guid.NewGuid():N}.tmp");
        try
        {
            T result;
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                result = write(file);
            }

            File.Move(temporary, Path.Combine(_blobs, BlobDigest.Parse(digestOf(result), "layer digest").Hex), overwrite: true);
            return result;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Points <paramref name="tag"/> at the manifest, replacing what the tag named before.</summary>
    public void Tag(ImageDescriptor manifest, string tag)
    {
        var indexPath = Path.Combine(_directory, "index.json");
        var kept = new List<JsonElement>();
        using var existing = File.Exists(indexPath) ? ParseIndex(indexPath) : null;
        if (existing is not null && existing.RootElement.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
        {
            kept.AddRange(manifests.EnumerateArray().Where(entry => RefName(entry) != tag));
        }

        var index = ImageJson.Serialize(json =>
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", ImageMediaTypes.OciIndex);
            json.WriteStartArray("manifests");
            foreach (var entry in kept)
            {
                entry.WriteTo(json);
            }

            json.WriteStartObject();
            ImageJson.WriteDescriptorFields(json, manifest);
            json.WriteStartObject("annotations");
            json.WriteString(RefNameAnnotation, tag);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        });
        File.WriteAllBytes(Path.Combine(_directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}"""u8);
        Streams.AtomicFile.Write(indexPath, stream =>
        {
            stream.Write(index);
            return 0;
        });
    }

    private static JsonDocument ParseIndex(string path)
    {
        try
        {
            return JsonDocument.Parse(BoundedFile.ReadAllBytes(path, FileSizeLimits.Json, "the OCI layout index"));
        }
        catch (JsonException ex)
        {
            throw new ImageSourceException(ImageSourceError.Malformed, $"{path} is not valid JSON, so the layout cannot be tagged: {ex.Message}", ex);
        }
    }

    private static string? RefName(JsonElement entry) =>
        entry.ValueKind == JsonValueKind.Object
        && entry.TryGetProperty("annotations", out var annotations)
        && annotations.ValueKind == JsonValueKind.Object
        && annotations.TryGetProperty(RefNameAnnotation, out var name)
        && name.ValueKind == JsonValueKind.String
            ? name.GetString()
            : null;
}
