using System.Text;
using Cloister.Runtime.Messages;

namespace Cloister.Host.Supervision;

/// <summary>
/// Prints the log stream (vsock 7001): the app's stdout lines to the output as they are, its stderr lines and the
/// supervisor's to the diagnostics with a prefix. Records marked as continued are joined into their line first.
/// </summary>
internal sealed class EnclaveLogPrinter(TextWriter output, TextWriter diagnostics)
{
    public const string AppPrefix = "app: ";
    public const string SupervisorPrefix = "supervisor: ";

    public async Task ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var reader = new LogReader(stream);
        var pending = new Dictionary<LogSource, StringBuilder>();
        while (await reader.ReadAsync(cancellationToken) is { } record)
        {
            if (record.Continues)
            {
                (pending.TryGetValue(record.Source, out var partial) ? partial : pending[record.Source] = new StringBuilder()).Append(record.Text);
                continue;
            }

            var text = record.Text;
            if (pending.Remove(record.Source, out var start))
            {
                text = start.Append(text).ToString();
            }

            // With socket completions inline (cloister run), this loop resumes on a socket event thread, which the
            // ingress and egress relays share; printing blocks while the console's pipe is full, so it happens on the pool.
            await Task.Yield();
            Print(record.Source, text);
        }

        foreach (var (source, partial) in pending)
        {
            Print(source, partial.ToString());
        }
    }

    private void Print(LogSource source, string text)
    {
        switch (source)
        {
            case LogSource.Stdout:
                output.WriteLine(text);
                break;
            case LogSource.Stderr:
                diagnostics.WriteLine(AppPrefix + text);
                break;
            default:
                diagnostics.WriteLine(SupervisorPrefix + text);
                break;
        }
    }
}
