using BenchmarkDotNet.Attributes;
using Cloister.Attestation.Nsm;
using Cloister.Attestation.Simulation;

namespace Cloister.Benchmarks;

/// <summary>The NSM codec and the software NSM's request path, as the simulator's NSM socket drives them.</summary>
[MemoryDiagnoser]
public class NsmBenchmarks : IDisposable
{
    private readonly SimulatedNitroRoot _root = SimulatedNitroRoot.Create();
    private readonly ExtendPcrRequest _extend = new(16, new byte[48]);
    private readonly byte[] _describeNsmResponse = NsmCodec.Encode(
        new DescribeNsmResponse(1, 0, 0, "i-0123456789abcdef0-enc0123456789abcdef", 32, [.. Enumerable.Range(0, 16).Select(i => (ushort)i)], NsmDigest.Sha384));
    private readonly byte[] _attestationRequest = NsmCodec.Encode(new AttestationRequest(new byte[64], new byte[32], null));
    private readonly byte[] _describePcrRequest = NsmCodec.Encode(new DescribePcrRequest(0));
    private SoftwareNsm _nsm = null!;

    [GlobalSetup]
    public void Setup() => _nsm = new SoftwareNsm(_root);

    [Benchmark]
    public byte[] EncodeExtendPcrRequest() => NsmCodec.Encode(_extend);

    [Benchmark]
    public NsmResponse DecodeDescribeNsmResponse() => NsmCodec.DecodeResponse(_describeNsmResponse);

    [Benchmark]
    public byte[] ProcessDescribePcr() => _nsm.ProcessRequest(_describePcrRequest);

    [Benchmark]
    public byte[] ProcessAttestation() => _nsm.ProcessRequest(_attestationRequest);

    public void Dispose()
    {
        _nsm?.Dispose();
        _root.Dispose();
        GC.SuppressFinalize(this);
    }
}
