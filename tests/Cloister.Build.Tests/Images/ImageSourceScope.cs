using Cloister.Build.Images;
using Cloister.Build.Images.Registry;

namespace Cloister.Build.Tests.Images;

/// <summary>Creates sources for a test and keeps them alive until it ends: an image's layers open through their source.</summary>
internal sealed class ImageSourceScope : IDisposable
{
    private readonly List<ImageSource> _sources = [];

    public Task<ContainerImage> ResolveAsync(string reference, RegistryOptions options, ImagePlatform? platform = null)
    {
        var source = ImageSource.Create(ImageReference.Parse(reference), options);
        _sources.Add(source);
        return source.ResolveAsync(platform);
    }

    public void Dispose() => _sources.ForEach(s => s.Dispose());
}
