namespace Cloister.Attestation.Verification;

/// <summary>The first PCR that kept a document from matching a <see cref="PcrPolicy"/> (reported for its first set).</summary>
public sealed class PcrMismatch
{
    internal PcrMismatch(int index, byte[] expected, byte[]? actual, int setCount)
    {
        Index = index;
        Expected = expected;
        Actual = actual;
        SetCount = setCount;
    }

    /// <summary>The PCR index.</summary>
    public int Index { get; }

    /// <summary>The value the policy's first set expects.</summary>
    public byte[] Expected { get; }

    /// <summary>The document's value, or <see langword="null"/> when the document has no such PCR.</summary>
    public byte[]? Actual { get; }

    /// <summary>How many sets the policy offered (none matched).</summary>
    public int SetCount { get; }

    /// <summary>A one-line description: the index and both values in lowercase hex.</summary>
    public override string ToString()
    {
        var actual = Actual is null ? "absent" : Convert.ToHexStringLower(Actual);
        var sets = SetCount == 1 ? string.Empty : $" (none of {SetCount} sets matched; first set shown)";
        return $"PCR{Index}: expected {Convert.ToHexStringLower(Expected)}, actual {actual}{sets}";
    }
}
