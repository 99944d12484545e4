using System.Security.Authentication;
using Cloister.Attestation.Certificates;

namespace Cloister.Client;

/// <summary>
/// An attested connection was refused: the TLS handshake itself succeeded as far as TLS goes, but the server failed
/// attestation (<see cref="Failure"/>). An <see cref="AuthenticationException"/>, so code that handles TLS failures
/// handles this one; through <see cref="HttpClient"/> it is the inner exception of an <see cref="HttpRequestException"/>.
/// </summary>
public sealed class AttestedTlsException : AuthenticationException
{
    /// <summary>Creates the exception for a failed verification.</summary>
    /// <param name="result">The failed result.</param>
    /// <exception cref="ArgumentNullException"><paramref name="result"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="result"/> is a success.</exception>
    public AttestedTlsException(AttestedTlsResult result)
        : base(Describe(result))
    {
        Result = result;
        Failure = result.Failure;
    }

    /// <summary>Creates the exception for a refusal that happened before any certificate was verified (no TLS, no certificate).</summary>
    /// <param name="failure">The reason.</param>
    /// <param name="detail">What happened.</param>
    /// <exception cref="ArgumentException"><paramref name="failure"/> is <see cref="AttestedTlsFailure.None"/>.</exception>
    public AttestedTlsException(AttestedTlsFailure failure, string detail)
        : base(failure == AttestedTlsFailure.None ? throw new ArgumentException("no failure to report", nameof(failure)) : $"attested TLS refused: {failure}: {detail}")
    {
        Failure = failure;
    }

    /// <summary>The reason.</summary>
    public AttestedTlsFailure Failure { get; }

    /// <summary>The failed verification (with the document's own reason and detail), or <see langword="null"/> when no certificate was verified.</summary>
    public AttestedTlsResult? Result { get; }

    private static string Describe(AttestedTlsResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.IsValid ? throw new ArgumentException("the verification succeeded", nameof(result)) : $"attested TLS refused: {result}";
    }
}
