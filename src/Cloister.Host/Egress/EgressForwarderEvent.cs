using System.Globalization;

namespace Cloister.Host.Egress;

/// <summary>What became of one egress connection.</summary>
public enum EgressForwarderOutcome
{
    /// <summary>The destination was checked and connected; bytes now flow.</summary>
    Connected,

    /// <summary>The destination (or an address it resolves to) is not allowed; the enclave got <c>ERR</c>.</summary>
    Refused,

    /// <summary>The request was malformed, or resolving or connecting failed; the enclave got <c>ERR</c> when it could.</summary>
    Failed,

    /// <summary>A connected relay ended.</summary>
    Closed,

    /// <summary>A connected relay carried nothing for the idle timeout, and the host closed it.</summary>
    Idle,

    /// <summary>The enclave already had the most connections open; it got <c>ERR</c>. Logged at most once per interval.</summary>
    Overloaded,
}

/// <summary>One line of the forwarder's log.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Destination">The <c>host:port</c> the enclave asked for, or <c>?</c> when its request was unreadable.</param>
/// <param name="Detail">Why, or for <see cref="EgressForwarderOutcome.Closed"/> and <see cref="EgressForwarderOutcome.Idle"/> how many bytes went each way.</param>
public sealed record EgressForwarderEvent(EgressForwarderOutcome Outcome, string Destination, string Detail)
{
    /// <summary>The record as one log line.</summary>
    /// <returns><c>egress &lt;outcome&gt; &lt;destination&gt;: &lt;detail&gt;</c>.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"egress {Outcome.ToString().ToLowerInvariant()} {Destination}: {Detail}");
}
