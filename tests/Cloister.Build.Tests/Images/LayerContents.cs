using System.Formats.Tar;
using System.Text;
using Cloister.Build.Images;

namespace Cloister.Build.Tests.Images;

/// <summary>A layer's tar entries as <c>type path [-&gt; link] [content]</c> lines, read through the source's verified stream.</summary>
internal static class LayerContents
{
    public static async Task<IReadOnlyList<string>> ReadAsync(ImageLayer layer)
    {
        var entries = new List<string>();
        await using var stream = await layer.OpenAsync();
        await using (var reader = new TarReader(stream, leaveOpen: true))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                var line = $"{entry.EntryType} {entry.Name.TrimStart('.', '/')}";
                if (entry.EntryType is TarEntryType.SymbolicLink)
                {
                    line += " -> " + entry.LinkName;
                }
                else if (entry.DataStream is { Length: < 100 } data)
                {
                    using var text = new StreamReader(data, Encoding.UTF8);
                    line += " " + (await text.ReadToEndAsync()).TrimEnd();
                }

                entries.Add(line);
            }
        }

        // The tar ends before the stream does (end-of-archive blocks, padding): read on so the digests get checked.
        await stream.CopyToAsync(Stream.Null);
        return entries;
    }

    /// <summary>Every layer of an image, in order.</summary>
    public static async Task<IReadOnlyList<IReadOnlyList<string>>> ReadAllAsync(ContainerImage image)
    {
        var layers = new List<IReadOnlyList<string>>();
        foreach (var layer in image.Layers)
        {
            layers.Add(await ReadAsync(layer));
        }

        return layers;
    }
}
