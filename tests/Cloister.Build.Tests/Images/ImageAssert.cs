using Cloister.Build.Images;

using Cloister.Testing;

namespace Cloister.Build.Tests.Images;

/// <summary>What the image tests expect of the umoci-built sample, whichever source it came through.</summary>
internal static class ImageAssert
{
    public static void IsSampleConfig(ImageConfig config, string architecture = "amd64")
    {
        Assert.Equal(["/usr/bin/tool"], config.Entrypoint);
        Assert.Equal(["--serve", "8080"], config.Cmd);
        Assert.Equal(["PATH=/usr/bin:/bin", "MODE=enclave"], config.Env);
        Assert.Equal("/app", config.WorkingDir);
        Assert.Equal("1000:1000", config.User);
        Assert.Equal(new ImagePlatform("linux", architecture), config.Platform);
        Assert.Equal(DateTimeOffset.Parse(TestImages.Created, System.Globalization.CultureInfo.InvariantCulture), config.Created);
        Assert.Equal(["layer one", "layer two", "umoci config"], config.History.Select(h => h.CreatedBy));
        Assert.Equal([false, false, true], config.History.Select(h => h.EmptyLayer));
        Assert.Equal(2, config.DiffIds.Count);
    }

    /// <summary>Layer one has files, an executable and a symlink; layer two deletes a directory (whiteout) and adds a file.</summary>
    public static void HasSampleLayers(IReadOnlyList<IReadOnlyList<string>> layers, string marker = "sample")
    {
        Assert.Equal(2, layers.Count);
        Assert.Contains("RegularFile etc/hello hello from layer one", layers[0]);
        Assert.Contains($"RegularFile etc/marker {marker}", layers[0]);
        Assert.Contains("SymbolicLink etc/hello.link -> hello", layers[0]);
        Assert.Contains("RegularFile usr/bin/tool #!/bin/sh\necho tool", layers[0]);
        Assert.Contains("RegularFile var/old/notes.txt to be deleted by layer two", layers[0]);
        Assert.Contains("RegularFile var/.wh.old", layers[1]);
        Assert.Contains(layers[1], e => e.StartsWith("RegularFile app/data.txt", StringComparison.Ordinal));
        Assert.DoesNotContain(layers[1], e => e.Contains("etc/hello", StringComparison.Ordinal));
    }
}
