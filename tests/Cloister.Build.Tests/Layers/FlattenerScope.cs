using Cloister.Build.Layers;

namespace Cloister.Build.Tests.Layers;

/// <summary>Flatteners spooling into one scratch directory; disposing the scope disposes them and deletes the directory.</summary>
internal sealed class FlattenerScope : IDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private readonly List<LayerFlattener> _flatteners = [];

    public string Combine(params string[] parts) => _scratch.Combine(parts);

    public LayerFlattener Create()
    {
        var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = _scratch.Path });
        _flatteners.Add(flattener);
        return flattener;
    }

    /// <summary>A flattener with <paramref name="layers"/> applied in order, labelled <c>layer0</c>, <c>layer1</c>, ….</summary>
    public LayerFlattener Flatten(params byte[][] layers)
    {
        var flattener = Create();
        for (var i = 0; i < layers.Length; i++)
        {
            flattener.ApplyLayer(new MemoryStream(layers[i]), $"layer{i}");
        }

        return flattener;
    }

    public void Dispose()
    {
        _flatteners.ForEach(flattener => flattener.Dispose());
        _scratch.Dispose();
    }
}
