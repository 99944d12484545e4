using Cloister.Fuzz.Harness;
using Cloister.Runtime.Messages;

namespace Cloister.Fuzz.Targets;

/// <summary>The status stream the host reads from the enclave supervisor (vsock port 7000), line after line.</summary>
internal sealed class StatusStreamTarget : FuzzTarget
{
    public override string Name => "status-stream";

    public override string Summary => "StatusReader.ReadAsync until the end (JSON status events; first byte = read size)";

    public override void Run(byte[] input)
    {
        var reader = new StatusReader(ChunkedPipe.Open(input));
        ChunkedPipe.ReadToEnd(() => reader.ReadAsync(), statusEvent => _ = statusEvent.ToString());
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        using var output = new MemoryStream();
        using (var writer = new StatusWriter(output))
        {
            foreach (var statusEvent in new StatusEvent[]
            {
                new BootingEvent(), new ProvisionedEvent(), new ReadyEvent(), new HealthEvent(false, "GET /healthz: 503"),
                new RestartingEvent(2, 1, null, 500), new ExitedEvent(null, 9),
            })
            {
                writer.WriteAsync(statusEvent).AsTask().GetAwaiter().GetResult();
            }
        }

        yield return new Seed("events", ChunkedPipe.Frame(0, output.ToArray()));
        yield return new Seed("events-chunked", ChunkedPipe.Frame(11, output.ToArray()));
    }
}
