using System.Net;
using Cloister.Fuzz.Harness;
using Cloister.Runtime.Ingress;

namespace Cloister.Fuzz.Targets;

/// <summary>The PROXY protocol v2 header the host puts before each ingress connection, read as it arrives.</summary>
internal sealed class ProxyProtocolTarget : FuzzTarget
{
    public override string Name => "proxy-protocol";

    public override string Summary => "ProxyProtocol.ReadAsync (PROXY v2 header; first byte = read size)";

    public override void Run(byte[] input)
    {
        var reader = ChunkedPipe.Open(input);
        try
        {
            _ = ProxyProtocol.ReadAsync(reader, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        catch (ProxyProtocolException)
        {
        }
        catch (EndOfStreamException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        yield return Header("ipv4", 0, new ProxyHeader(IPEndPoint.Parse("203.0.113.7:51234"), IPEndPoint.Parse("10.0.0.1:443")));
        yield return Header("ipv6-chunked", 5, new ProxyHeader(IPEndPoint.Parse("[2001:db8::7]:51234"), IPEndPoint.Parse("[2001:db8::1]:443")));
    }

    private static Seed Header(string name, byte chunk, ProxyHeader header)
    {
        var buffer = new byte[ProxyProtocol.MaxHeaderLength];
        var length = ProxyProtocol.Write(header, buffer);
        return new Seed(name, ChunkedPipe.Frame(chunk, [.. buffer.AsSpan(0, length), .. "GET / HTTP/1.1\r\n"u8]));
    }
}
