using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Verification;
using Cloister.Testing;

namespace Cloister.Benchmarks.Attestation;

/// <summary>
/// Verifying a real AWS document at its pin time: with the chain cached (one ES384 check), uncached (five), decode
/// only, and the cost of importing the leaf key that the cache's key pool saves.
/// </summary>
[MemoryDiagnoser]
public class VerificationBenchmarks
{
    private const string Document = "oyster_2024-12-13_prod.cbor";
    private const int ParallelBatch = 64;

    private static readonly DateTimeOffset s_pinTime = new(2024, 12, 13, 7, 38, 0, TimeSpan.Zero);

    private byte[] _document = [];
    private byte[] _leafSubjectPublicKeyInfo = [];
    private AttestationVerifier _cached = null!;
    private AttestationVerifier _uncached = null!;

    [GlobalSetup]
    public void Setup()
    {
        _document = File.ReadAllBytes(RepositoryPaths.Vector("attestation", "real", Document));
        var clock = new FixedTimeProvider(s_pinTime);
        _cached = new AttestationVerifier(new AttestationVerifierOptions { TimeProvider = clock });
        _uncached = new AttestationVerifier(new AttestationVerifierOptions { TimeProvider = clock, ChainCacheCapacity = 0 });
        if (!_cached.Verify(_document).IsValid || !_uncached.Verify(_document).IsValid)
        {
            throw new InvalidOperationException($"{Document} does not verify at {s_pinTime:O}");
        }

        using var leaf = X509CertificateLoader.LoadCertificate(
            AttestationDocumentDecoder.Decode(_document).Document.Certificate);
        _leafSubjectPublicKeyInfo = leaf.PublicKey.ExportSubjectPublicKeyInfo();
    }

    [Benchmark(Baseline = true)]
    public bool VerifyCached() => _cached.Verify(_document).IsValid;

    [Benchmark]
    public bool VerifyUncached() => _uncached.Verify(_document).IsValid;

    [Benchmark]
    public SignedAttestationDocument Decode() => AttestationDocumentDecoder.Decode(_document);

    [Benchmark(OperationsPerInvoke = ParallelBatch)]
    public void VerifyCachedOnAllCores() => Parallel.For(0, ParallelBatch, _ => _cached.Verify(_document));

    [Benchmark]
    public int ImportLeafKey()
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(_leafSubjectPublicKeyInfo, out var read);
        return read;
    }
}
