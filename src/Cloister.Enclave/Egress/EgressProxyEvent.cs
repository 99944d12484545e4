namespace Cloister.Enclave.Egress;

/// <summary>What the proxy did with one request.</summary>
internal enum EgressProxyOutcome
{
    /// <summary>An allow rule matched; the proxy asked the host to connect.</summary>
    Allowed,

    /// <summary>A deny rule matched: 403.</summary>
    Denied,

    /// <summary>No allow rule matched: 403.</summary>
    NotAllowed,

    /// <summary>The host refused or could not connect, or its forwarder did not answer: 502 or 504.</summary>
    HostFailed,

    /// <summary>The request was malformed, too large, or too slow: 400 or 408.</summary>
    Rejected,

    /// <summary>A tunnel or forwarded request ended.</summary>
    Closed,

    /// <summary>A tunnel or forwarded request carried nothing for the idle timeout, and the proxy closed it.</summary>
    Idle,

    /// <summary>An allowed request came while the proxy already served its most connections: 503. Logged at most once per interval.</summary>
    Overloaded,
}

/// <summary>One line of the proxy's log, for the supervisor to route to the host's log stream.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Request">The method and <c>host:port</c>, or <c>?</c> when the request was unreadable.</param>
/// <param name="Detail">Why: the rule that decided, the host's reason, the parse error, or the bytes carried.</param>
internal sealed record EgressProxyEvent(EgressProxyOutcome Outcome, string Request, string Detail)
{
    public override string ToString() => $"egress {Outcome.ToString().ToLowerInvariant()} {Request}: {Detail}";
}
