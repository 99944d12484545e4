using System.Text;
using Cloister.Enclave.Egress;
using Cloister.Fuzz.Harness;

namespace Cloister.Fuzz.Targets;

/// <summary>The enclave's egress proxy request head (CONNECT or absolute-form HTTP), as the app's connection delivers it.</summary>
internal sealed class EgressProxyRequestTarget : FuzzTarget
{
    private const int MaxHeadBytes = 16 * 1024;

    public override string Name => "egress-proxy-request";

    public override string Summary => "ProxyRequest.ReadAsync (HTTP/1.1 proxy request head; first byte = read size)";

    public override void Run(byte[] input)
    {
        var reader = ChunkedPipe.Open(input);
        try
        {
            using var request = ProxyRequest.ReadAsync(reader, MaxHeadBytes, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (request is not null)
            {
                _ = request.Target.ToString() + request.ForwardedHead.Length;
            }
        }
        catch (ProxyRequestException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        Seed("connect", 0, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Connection: keep-alive\r\n\r\n\x16\x03\x01"),
        Seed("get-chunked", 9, "GET http://example.com:8080/path?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"),
        Seed("post-ipv6", 0, "POST http://[2001:db8::1]/submit HTTP/1.1\r\nHost: [2001:db8::1]\r\nContent-Length: 5\r\nTE: trailers\r\n\r\nhello"),
    ];

    private static Seed Seed(string name, byte chunk, string text) => new(name, ChunkedPipe.Frame(chunk, Encoding.Latin1.GetBytes(text)));
}
