namespace Cloister.Kms.Proxy;

/// <summary>What the manifest's <c>kms_proxy</c> lets the app do: the actions, the keys, and the region its keys are in.</summary>
public sealed class KmsProxyPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <param name="region">The AWS region, e.g. <c>us-east-1</c>.</param>
    /// <param name="allow">The KMS action names (after <c>TrentService.</c>) the app may call.</param>
    /// <param name="keys">The key ARNs, alias ARNs or alias names (<c>alias/…</c>) the app may name, matched exactly.</param>
    /// <exception cref="ArgumentException">The region is empty, or <paramref name="allow"/> or <paramref name="keys"/> is empty.</exception>
    public KmsProxyPolicy(string region, IEnumerable<string> allow, IEnumerable<string> keys)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentNullException.ThrowIfNull(allow);
        ArgumentNullException.ThrowIfNull(keys);
        Region = region;
        Allow = allow.ToHashSet(StringComparer.Ordinal);
        Keys = keys.ToHashSet(StringComparer.Ordinal);
        if (Allow.Count == 0 || Keys.Count == 0)
        {
            throw new ArgumentException("kms_proxy needs at least one action in allow and one key in keys");
        }
    }

    /// <summary>The region of the KMS endpoint.</summary>
    public string Region { get; }

    /// <summary>The actions the app may call.</summary>
    public IReadOnlySet<string> Allow { get; }

    /// <summary>The keys the app may name.</summary>
    public IReadOnlySet<string> Keys { get; }
}
