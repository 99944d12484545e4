using System.Net.Sockets;
using BenchmarkDotNet.Attributes;

namespace Cloister.Benchmarks.Relay;

/// <summary>
/// <see cref="Runtime.Relay.DuplexRelay"/> between loopback TCP and a Unix socket: small request/answer round trips (the
/// ingress and egress pattern, where each message makes a direction wait for readability again) and bulk streaming (a
/// download, where the relay reads full buffers back to back).
/// </summary>
[MemoryDiagnoser]
public class RelayBenchmarks
{
    private const int BulkBytes = 16 * 1024 * 1024;
    private readonly byte[] _message = new byte[128];
    private readonly byte[] _messageIn = new byte[128];
    private readonly byte[] _bulk = new byte[BulkBytes];
    private readonly byte[] _bulkIn = new byte[BulkBytes];
    private DirectoryInfo _directory = null!;
    private RelayRig _rig = null!;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_bulk);
        _directory = Directory.CreateTempSubdirectory("cloister-bench-relay-");
        _rig = RelayRig.OpenAsync(1, _directory.FullName).GetAwaiter().GetResult()[0];
        _rig.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rig.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _directory.Delete(recursive: true);
    }

    /// <summary>128 bytes TCP → Unix and 128 back: one round trip through both directions.</summary>
    [Benchmark]
    public async Task RoundTrip()
    {
        await _rig.Tcp.SendAsync(_message, SocketFlags.None);
        await RelayRig.ReceiveExactlyAsync(_rig.Unix, _messageIn);
        await _rig.Unix.SendAsync(_message, SocketFlags.None);
        await RelayRig.ReceiveExactlyAsync(_rig.Tcp, _messageIn);
    }

    /// <summary>16 MiB TCP → Unix.</summary>
    [Benchmark]
    public async Task Stream16MiB()
    {
        var receiving = RelayRig.ReceiveExactlyAsync(_rig.Unix, _bulkIn);
        await _rig.Tcp.SendAsync(_bulk, SocketFlags.None);
        await receiving;
    }
}
