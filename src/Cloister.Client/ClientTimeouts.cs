namespace Cloister.Client;

/// <summary>
/// How long each network step of an attested client may take, so that a server that accepts a connection and then
/// stalls fails with a <see cref="NetworkTimeoutException"/> naming the step instead of hanging the caller. Used by
/// <see cref="Tls.AttestedTlsClient"/>, <see cref="Http.AttestingHttpHandler"/> and <see cref="Http.WellKnownAttestation"/>.
/// </summary>
/// <remarks>
/// Each value is positive or <see cref="Timeout.InfiniteTimeSpan"/> (no bound). There is no bound on a whole
/// exchange here: a large body that keeps flowing is never cut; pass a cancellation token to bound the total.
/// </remarks>
public sealed record ClientTimeouts
{
    /// <summary>The defaults: <see cref="Connect"/> 10 s, <see cref="Response"/> 30 s.</summary>
    public static ClientTimeouts Default { get; } = new();

    /// <summary>
    /// The TCP connect and TLS handshake of a new connection together, name resolution and attestation included (as
    /// curl's <c>--connect-timeout</c>). Default 10 s.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is neither positive (at most <see cref="int.MaxValue"/> ms) nor <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan Connect { get; init => field = Checked(value); } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest a connected server may keep the client waiting: each write of the request, the wait for the
    /// response headers and each read of the body must make progress within it (an idle timeout). Default 30 s.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is neither positive (at most <see cref="int.MaxValue"/> ms) nor <see cref="Timeout.InfiniteTimeSpan"/>.</exception>
    public TimeSpan Response { get; init => field = Checked(value); } = TimeSpan.FromSeconds(30);

    private static TimeSpan Checked(TimeSpan value, [System.Runtime.CompilerServices.CallerMemberName] string name = "") =>
        value == Timeout.InfiniteTimeSpan || (value > TimeSpan.Zero && value.TotalMilliseconds <= int.MaxValue)
            ? value
            : throw new ArgumentOutOfRangeException(name, value, "a timeout is positive, or Timeout.InfiniteTimeSpan for none");
}
