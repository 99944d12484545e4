using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Verification;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Attestation.Tests.Verification;

/// <summary>Verifiers pinned to a time, as every test of these expired documents must be.</summary>
internal static class Verifiers
{
    public static readonly DateTimeOffset Today = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    public static AttestationVerifier At(DateTimeOffset now, params X509Certificate2[] roots) =>
        new(new AttestationVerifierOptions { TimeProvider = new FakeTimeProvider(now), TrustedRoots = roots.Length == 0 ? null : roots });

    public static X509Certificate2 LoadPem(string path) => X509Certificate2.CreateFromPem(File.ReadAllText(path));
}
