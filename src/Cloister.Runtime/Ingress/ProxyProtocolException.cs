namespace Cloister.Runtime.Ingress;

/// <summary>The bytes at the start of a connection are not a PROXY protocol v2 header this side accepts.</summary>
public sealed class ProxyProtocolException : FormatException
{
    /// <summary>Creates the exception for a fault in <paramref name="field"/> at byte <paramref name="offset"/>.</summary>
    /// <param name="field">The header field that was wrong: <c>signature</c>, <c>version</c>, <c>command</c>, <c>family</c> or <c>length</c>.</param>
    /// <param name="offset">The byte offset in the header where the fault is.</param>
    /// <param name="reason">What was wrong, without the field name or offset.</param>
    public ProxyProtocolException(string field, int offset, string reason)
        : base($"PROXY v2 header: {field} at byte {offset}: {reason}")
    {
        Field = field;
        Offset = offset;
    }

    /// <summary>The header field that was wrong.</summary>
    public string Field { get; }

    /// <summary>The byte offset in the header where the fault is.</summary>
    public int Offset { get; }
}
