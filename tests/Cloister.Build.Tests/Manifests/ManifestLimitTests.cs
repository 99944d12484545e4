using Cloister.Build.Manifests;

namespace Cloister.Build.Tests.Manifests;

/// <summary>
/// YAML that would overflow the stack or hash for hours is refused at the first event past <see cref="ManifestLimits"/>,
/// with its line and column, before YamlDotNet's representation model recurses into it.
/// </summary>
public sealed class ManifestLimitTests
{
    private const int Deep = 100_000;

    private static ManifestError FailsOnce(string yaml) => Assert.Single(Assert.Throws<ManifestException>(() => EnclaveManifestReader.Parse(yaml)).Errors);

    private static void AssertTooDeep(ManifestError error, int line, int column)
    {
        Assert.Equal((line, column, ""), (error.Line, error.Column, error.Path));
        Assert.Equal($"enclave.yaml:{line}:{column}: nested deeper than 32 levels, the limit for a manifest (see docs/limits.md)", error.ToString());
    }

    [Theory]
    [InlineData("[", "]")]
    [InlineData("{a: ", "}")]
    [InlineData("[", "")]
    public void Deep_flow_nesting_is_refused_at_the_level_past_the_limit(string open, string close)
    {
        var error = FailsOnce("x: " + string.Concat(Enumerable.Repeat(open, Deep)) + string.Concat(Enumerable.Repeat(close, Deep)));

        // The root mapping is level 1, so the 32nd opener is level 33.
        AssertTooDeep(error, 1, 4 + (open.Length * (ManifestLimits.MaxDepth - 1)));
    }

    [Fact]
    public void Deep_block_lists_on_one_line_are_refused()
    {
        var error = FailsOnce("x:\n" + string.Concat(Enumerable.Repeat("- ", Deep)) + "a\n");

        AssertTooDeep(error, 2, 1 + (2 * (ManifestLimits.MaxDepth - 1)));
    }

    [Fact]
    public void Deep_block_mappings_are_refused()
    {
        var yaml = string.Concat(Enumerable.Range(0, 200).Select(level => new string(' ', level) + "a:\n")) + new string(' ', 200) + "b\n";

        // Line n holds the mapping of level n, indented n - 1 columns.
        AssertTooDeep(FailsOnce(yaml), ManifestLimits.MaxDepth + 1, ManifestLimits.MaxDepth + 1);
    }

    [Fact]
    public void Nesting_at_the_limit_is_read_as_usual()
    {
        var lists = ManifestLimits.MaxDepth - 1;

        var error = FailsOnce($"name: app\nimage: x\ncmd: {new string('[', lists)}{new string(']', lists)}\n");

        Assert.Equal("cmd[0]", error.Path);
        Assert.Contains("expected a string, found a list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_alias_counts_as_deep_as_the_node_it_repeats()
    {
        var yaml = $"a: &deep {new string('[', 20)}{new string(']', 20)}\nb: {new string('[', 11)}*deep{new string(']', 11)}\n";

        // Level 1 + 11 lists + the 20 lists *deep repeats = 32, within the limit; one more list around it is 33.
        var within = Assert.Throws<ManifestException>(() => EnclaveManifestReader.Parse(yaml));
        Assert.Equal(["a", "b", "name", "image"], within.Errors.Select(e => e.Path));
        AssertTooDeep(FailsOnce(yaml.Replace("b: [", "b: [[", StringComparison.Ordinal)), 2, 16);
    }

    [Fact]
    public void Keys_that_alias_each_other_cannot_chain_past_the_depth_limit()
    {
        // Hashing a mapping key recurses into it, aliases included: a chain of keys is a stack overflow waiting.
        var lines = new List<string> { "k0: &k0 {a: b}" };
        for (var i = 1; i < Deep / 100; i++)
        {
            lines.Add($"k{i}: &k{i} {{? *k{i - 1} : b}}");
        }

        var error = FailsOnce(string.Join('\n', lines));

        Assert.Equal(ManifestLimits.MaxDepth, error.Line);
        Assert.Contains("nested deeper than 32 levels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Billion_laughs_are_refused_at_the_alias_that_passes_the_node_limit()
    {
        var lines = new List<string> { "l0: &l0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++)
        {
            lines.Add($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]");
        }

        // As a key, *l9 would be hashed through all 10^10 of the nodes it repeats.
        var error = FailsOnce(string.Join('\n', lines) + "\n? *l9\n: x\n");

        // l3 is 11,111 nodes and 12,351 come before l4's first *l3, so its eighth *l3 passes 100,000.
        Assert.Equal((5, 10 + (7 * 5), ""), (error.Line, error.Column, error.Path));
        Assert.Equal(
            "enclave.yaml:5:45: more than 100,000 nodes (values, lists and mappings, an alias counting as all it repeats), the limit for a manifest (see docs/limits.md)",
            error.ToString());
    }

    [Fact]
    public void Too_many_plain_nodes_are_refused_too()
    {
        var error = FailsOnce("x: [" + string.Concat(Enumerable.Repeat("a,", ManifestLimits.MaxNodes)) + "a]\n");

        Assert.Contains("more than 100,000 nodes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x: &a [*a]\n", 8)]
    [InlineData("x: &a {k: [*a]}\n", 12)]
    public void An_alias_inside_the_node_it_names_is_refused(string yaml, int column)
    {
        var error = FailsOnce(yaml);

        Assert.Equal((1, column), (error.Line, error.Column));
        Assert.EndsWith("the alias *a repeats a node that contains it", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x: *a\ny: &a 1\n", 1, 4)]
    [InlineData("? *n\ni: &n B\n", 1, 3)]
    [InlineData("name: app\nimage: *nowhere\n", 2, 8)]
    public void An_alias_before_its_anchor_is_refused_where_it_stands(string yaml, int line, int column)
    {
        // Found by the enclave-manifest fuzz campaign: an alias used as a mapping key before its anchor made
        // YamlDotNet's representation model compare keys recursively until the stack overflowed.
        var error = FailsOnce(yaml);

        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.Contains("comes before any anchor &", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aliases_within_the_limits_still_work()
    {
        var m = EnclaveManifestReader.Parse("name: app\nimage: &image registry.example.com/app:1\ncmd: [*image, --serve]\n");

        Assert.Equal(["registry.example.com/app:1", "--serve"], m.Cmd);
    }
}
