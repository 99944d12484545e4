using System.Text;
using Cloister.Fuzz.Harness;
using Cloister.Runtime.Messages;

namespace Cloister.Fuzz.Targets;

/// <summary>The log stream the host reads from the enclave supervisor, line after line.</summary>
internal sealed class LogStreamTarget : FuzzTarget
{
    public override string Name => "log-stream";

    public override string Summary => "LogReader.ReadAsync until the end (source-tagged log lines; first byte = read size)";

    public override void Run(byte[] input)
    {
        var reader = new LogReader(ChunkedPipe.Open(input));
        ChunkedPipe.ReadToEnd(() => reader.ReadAsync(), record => _ = record.Text.Length);
    }

    public override IEnumerable<Seed> Seeds(SeedSources sources)
    {
        using var output = new MemoryStream();
        using (var writer = new LogWriter(output))
        {
            writer.WriteLineAsync(LogSource.Supervisor, "booting").AsTask().GetAwaiter().GetResult();
            writer.WriteLineAsync(LogSource.Stdout, "listening on 127.0.0.1:8080").AsTask().GetAwaiter().GetResult();
            writer.WriteLineAsync(LogSource.Stderr, new string('x', 300) + "\ttab\u00e9").AsTask().GetAwaiter().GetResult();
            writer.WriteLineAsync(LogSource.Stdout, Encoding.UTF8.GetBytes("partial")).AsTask().GetAwaiter().GetResult();
        }

        yield return new Seed("lines", ChunkedPipe.Frame(0, output.ToArray()));
        yield return new Seed("lines-chunked", ChunkedPipe.Frame(13, output.ToArray()));
    }
}
