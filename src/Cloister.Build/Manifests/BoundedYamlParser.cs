using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Cloister.Build.Manifests;

/// <summary>
/// Passes a YAML parser's events on while they stay within <see cref="ManifestLimits"/>, and throws at the first
/// event that would not. YamlDotNet's parser works with an explicit stack, but its representation model recurses
/// once per nesting level and hashes mapping keys through the aliases they contain: put between the two, this
/// keeps both bounded. An alias counts as the depth and the nodes of what it repeats.
/// </summary>
/// <param name="inner">The parser whose events are checked.</param>
internal sealed class BoundedYamlParser(IParser inner) : IParser
{
    private readonly List<OpenCollection> _open = [];
    private readonly Dictionary<AnchorName, Extent> _anchors = [];
    private long _nodes;

    /// <inheritdoc/>
    public ParsingEvent? Current => inner.Current;

    /// <inheritdoc/>
    /// <exception cref="YamlLimitException">The event takes the document past a limit, or an alias repeats a node that contains it or names no earlier anchor.</exception>
    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }

        switch (inner.Current)
        {
            case DocumentStart:
                // Anchors are scoped to their document (YAML 1.2 §3.2.2.2).
                _anchors.Clear();
                break;
            case Scalar scalar:
                Count(scalar.Start, Extent.Scalar);
                Remember(scalar.Anchor, Extent.Scalar);
                break;
            case AnchorAlias alias:
                var repeated = Repeated(alias);
                Count(alias.Start, repeated);
                Contain(repeated);
                break;
            case NodeEvent { Start: var at, Anchor: var anchor } and (SequenceStart or MappingStart):
                Count(at, new Extent(1, 1));
                _open.Add(new OpenCollection(anchor, _nodes - 1));
                break;
            case SequenceEnd or MappingEnd:
                var closed = _open[^1];
                _open.RemoveAt(_open.Count - 1);
                var extent = new Extent(_nodes - closed.NodesBefore, closed.ChildHeight + 1);
                Remember(closed.Anchor, extent);
                Contain(extent);
                break;
        }

        return true;
    }

    private Extent Repeated(AnchorAlias alias)
    {
        if (_open.Exists(open => open.Anchor.Equals(alias.Value)))
        {
            throw new YamlLimitException(alias.Start, $"the alias *{alias.Value} repeats a node that contains it");
        }

        // YAML 1.2 §7.1: an alias names an anchor that occurs before it. The representation model would otherwise
        // resolve it later, and an alias used as a mapping key before its anchor makes its key comparison recurse forever.
        return _anchors.TryGetValue(alias.Value, out var extent)
            ? extent
            : throw new YamlLimitException(alias.Start, $"the alias *{alias.Value} comes before any anchor &{alias.Value}");
    }

    private void Count(Mark at, Extent extent)
    {
        if (_open.Count + extent.Height > ManifestLimits.MaxDepth)
        {
            throw new YamlLimitException(at, string.Create(
                CultureInfo.InvariantCulture, $"nested deeper than {ManifestLimits.MaxDepth} levels, the limit for a manifest (see docs/limits.md)"));
        }

        _nodes += extent.Nodes;
        if (_nodes > ManifestLimits.MaxNodes)
        {
            throw new YamlLimitException(at, string.Create(
                CultureInfo.InvariantCulture, $"more than {ManifestLimits.MaxNodes:N0} nodes (values, lists and mappings, an alias counting as all it repeats), the limit for a manifest (see docs/limits.md)"));
        }
    }

    private void Contain(Extent child)
    {
        if (_open.Count > 0)
        {
            _open[^1].Contain(child.Height);
        }
    }

    private void Remember(AnchorName anchor, Extent extent)
    {
        if (!anchor.IsEmpty)
        {
            _anchors[anchor] = extent;
        }
    }

    /// <summary>How many nodes a node is, itself included, and how many collections deep (0 for a value).</summary>
    private readonly record struct Extent(long Nodes, int Height)
    {
        public static Extent Scalar => new(1, 0);
    }

    private sealed class OpenCollection(AnchorName anchor, long nodesBefore)
    {
        public AnchorName Anchor => anchor;

        public long NodesBefore => nodesBefore;

        /// <summary>The height of its tallest child so far.</summary>
        public int ChildHeight { get; private set; }

        public void Contain(int height) => ChildHeight = Math.Max(ChildHeight, height);
    }
}

/// <summary>A manifest's YAML goes past <see cref="ManifestLimits"/>; the message names the limit.</summary>
internal sealed class YamlLimitException(Mark start, string message) : YamlException(start, start, message);
