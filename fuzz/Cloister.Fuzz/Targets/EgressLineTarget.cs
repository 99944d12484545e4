using System.Text;
using Cloister.Fuzz.Harness;
using Cloister.Runtime.Messages;

namespace Cloister.Fuzz.Targets;

/// <summary>
/// The egress forwarder's line messages on the vsock: the enclave's <c>host:port</c> request (what the host reads) and
/// the host's <c>OK</c>/<c>ERR reason</c> answer (what the enclave reads). The second byte chooses which: even for
/// the request, odd for the response.
/// </summary>
internal sealed class EgressLineTarget : FuzzTarget
{
    public override string Name => "egress-line";

    public override string Summary => "EgressRequest.ReadAsync / EgressResponse.ReadAsync (first byte = read size, second = which)";

    public override void Run(byte[] input)
    {
        if (input.Length < 2)
        {
            return;
        }

        var reader = ChunkedPipe.Open([input[0], .. input.AsSpan(2)]);
        try
        {
            if (input[1] % 2 == 0)
            {
                _ = EgressRequest.ReadAsync(reader).AsTask().GetAwaiter().GetResult().ToString();
            }
            else
            {
                _ = EgressResponse.ReadAsync(reader).AsTask().GetAwaiter().GetResult().ToString();
            }
        }
        catch (InvalidDataException)
        {
        }
        catch (EndOfStreamException)
        {
        }
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources) =>
    [
        Seed("request-host", 0, 0, "example.com:443\n\x16\x03\x01"),
        Seed("request-ipv6", 3, 0, "[2001:db8::1]:8443\n"),
        Seed("request-ipv4", 0, 0, "192.0.2.10:80\n"),
        Seed("response-ok", 0, 1, "OK\n"),
        Seed("response-error", 4, 1, "ERR destination not allowed: 10.0.0.1:22\n"),
    ];

    private static Seed Seed(string name, byte chunk, byte which, string text) => new(name, [chunk, which, .. Encoding.ASCII.GetBytes(text)]);
}
