namespace Cloister.Runtime.Egress;

/// <summary>The outcome of an egress check.</summary>
public enum EgressVerdict
{
    /// <summary>An allow rule matched and no deny rule did.</summary>
    Allowed,

    /// <summary>A deny rule matched; deny wins over allow.</summary>
    Denied,

    /// <summary>No allow rule matched (with no allow rules at all, nothing is allowed).</summary>
    NotAllowed,
}

/// <summary>
/// The manifest's egress policy: a destination is allowed when an allow rule matches and no deny rule does.
/// An empty allow list allows nothing; there is no "allow all" default.
/// </summary>
public sealed class EgressPolicy
{
    /// <summary>Creates a policy from parsed rules.</summary>
    /// <param name="allow">Rules that let a destination through.</param>
    /// <param name="deny">Rules that refuse a destination whatever the allow rules say.</param>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    public EgressPolicy(IReadOnlyList<EgressPattern> allow, IReadOnlyList<EgressPattern> deny)
    {
        ArgumentNullException.ThrowIfNull(allow);
        ArgumentNullException.ThrowIfNull(deny);
        Allow = allow;
        Deny = deny;
    }

    /// <summary>The allow rules.</summary>
    public IReadOnlyList<EgressPattern> Allow { get; }

    /// <summary>The deny rules.</summary>
    public IReadOnlyList<EgressPattern> Deny { get; }

    /// <summary>Parses the manifest's rule lists.</summary>
    /// <param name="allow">Allow rules as written.</param>
    /// <param name="deny">Deny rules as written.</param>
    /// <returns>The policy.</returns>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">A rule is invalid; the message names it.</exception>
    public static EgressPolicy Parse(IEnumerable<string> allow, IEnumerable<string> deny)
    {
        ArgumentNullException.ThrowIfNull(allow);
        ArgumentNullException.ThrowIfNull(deny);
        return new EgressPolicy([.. allow.Select(EgressPattern.Parse)], [.. deny.Select(EgressPattern.Parse)]);
    }

    /// <summary>Decides whether the app may connect to a destination.</summary>
    /// <param name="host">The destination host as the app named it.</param>
    /// <param name="port">The destination port.</param>
    /// <param name="rule">The rule that decided: the matching deny or allow rule; <see langword="null"/> for <see cref="EgressVerdict.NotAllowed"/>.</param>
    /// <returns>The verdict.</returns>
    public EgressVerdict Evaluate(EgressDestination host, int port, out EgressPattern? rule)
    {
        rule = First(Deny, host, port);
        if (rule is not null)
        {
            return EgressVerdict.Denied;
        }

        rule = First(Allow, host, port);
        return rule is null ? EgressVerdict.NotAllowed : EgressVerdict.Allowed;
    }

    private static EgressPattern? First(IReadOnlyList<EgressPattern> rules, EgressDestination host, int port)
    {
        foreach (var rule in rules)
        {
            if (rule.Matches(host, port))
            {
                return rule;
            }
        }

        return null;
    }
}
