using System.IO.Pipelines;
using System.Text;
using Cloister.Runtime.Messages;

namespace Cloister.Runtime.Tests.Messages;

public sealed class LogStreamTests
{
    [Fact]
    public async Task Lines_from_every_source_have_their_wire_form_and_round_trip()
    {
        var wire = await WriteAsync(async writer =>
        {
            await writer.WriteLineAsync(LogSource.Stdout, "hello");
            await writer.WriteLineAsync(LogSource.Stderr, "warning: x");
            await writer.WriteLineAsync(LogSource.Supervisor, "app started as uid 1000");
            await writer.WriteLineAsync(LogSource.Stdout, "");
        });

        Assert.Equal("stdout hello\nstderr warning: x\nsupervisor app started as uid 1000\nstdout \n", Encoding.UTF8.GetString(wire));
        Assert.Equal(
            [
                new LogRecord(LogSource.Stdout, "hello", false),
                new LogRecord(LogSource.Stderr, "warning: x", false),
                new LogRecord(LogSource.Supervisor, "app started as uid 1000", false),
                new LogRecord(LogSource.Stdout, "", false),
            ],
            await ReadAllAsync(wire));
    }

    [Fact]
    public async Task Embedded_newlines_end_lines_and_a_final_one_is_optional()
    {
        var wire = await WriteAsync(async writer => await writer.WriteLineAsync(LogSource.Stdout, "one\ntwo\r\nthree\n"));

        Assert.Equal("stdout one\nstdout two\r\nstdout three\n", Encoding.UTF8.GetString(wire));
    }

    [Fact]
    public async Task A_long_line_is_split_into_continued_records_that_reassemble()
    {
        var line = string.Concat(Enumerable.Range(0, 3000).Select(i => $"{i % 10}é€"));
        var wire = await WriteAsync(async writer => await writer.WriteLineAsync(LogSource.Stderr, line));

        var records = await ReadAllAsync(wire);

        Assert.True(records.Count > 1);
        Assert.All(records[..^1], record => Assert.True(record.Continues));
        Assert.False(records[^1].Continues);
        Assert.All(records, record => Assert.True(Encoding.UTF8.GetByteCount(record.Text) <= LogRecord.MaxTextLength));
        Assert.DoesNotContain(records, record => record.Text.Contains('\uFFFD', StringComparison.Ordinal));
        Assert.Equal(line, string.Concat(records.Select(record => record.Text)));
    }

    [Fact]
    public async Task Invalid_utf8_becomes_replacement_characters()
    {
        byte[] raw = [(byte)'a', 0xFF, (byte)'b', 0xE2, 0x82, (byte)'c', 0xC3];

        var wire = await WriteAsync(async writer => await writer.WriteLineAsync(LogSource.Stdout, raw));

        Assert.Equal("stdout a\uFFFDb\uFFFDc\uFFFD\n", Encoding.UTF8.GetString(wire));
        Assert.Equal(new LogRecord(LogSource.Stdout, "a\uFFFDb\uFFFDc\uFFFD", false), Assert.Single(await ReadAllAsync(wire)));
    }

    [Fact]
    public async Task Copying_app_output_frames_lines_as_they_arrive_and_flushes_the_last_partial_line()
    {
        var output = new Pipe();
        var longLine = new string('L', LogRecord.MaxTextLength + 100);
        using var stream = new MemoryStream();
        using (var writer = new LogWriter(stream))
        {
            var copying = writer.CopyLinesAsync(LogSource.Stdout, output.Reader);
            foreach (var chunk in new[] { "first li", "ne\nsecond line\nthi", longLine[..5000], longLine[5000..] + "\n", "no newline at the end" })
            {
                await output.Writer.WriteAsync(Encoding.UTF8.GetBytes(chunk));
            }

            await output.Writer.CompleteAsync();
            await copying;
        }

        var records = await ReadAllAsync(stream.ToArray());

        Assert.Equal(new LogRecord(LogSource.Stdout, "first line", false), records[0]);
        Assert.Equal(new LogRecord(LogSource.Stdout, "second line", false), records[1]);
        Assert.True(records[2].Continues);
        Assert.Equal("thi" + longLine, string.Concat(records.Skip(2).Take(records.Count - 3).Select(r => r.Text)));
        Assert.False(records[^2].Continues);
        Assert.Equal(new LogRecord(LogSource.Stdout, "no newline at the end", false), records[^1]);
    }

    [Fact]
    public async Task A_part_cut_from_a_pending_line_never_splits_a_character()
    {
        var output = new Pipe();
        // 'é' is two bytes; the cut at MaxTextLength would fall between them.
        var text = new string('a', LogRecord.MaxTextLength - 1) + "é" + "tail";
        using var stream = new MemoryStream();
        using (var writer = new LogWriter(stream))
        {
            var copying = writer.CopyLinesAsync(LogSource.Stdout, output.Reader);
            await output.Writer.WriteAsync(Encoding.UTF8.GetBytes(text));
            await output.Writer.CompleteAsync();
            await copying;
        }

        var records = await ReadAllAsync(stream.ToArray());

        Assert.Equal(text, string.Concat(records.Select(r => r.Text)));
        Assert.DoesNotContain(records, record => record.Text.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_sources_never_interleave_inside_a_record()
    {
        using var stream = new MemoryStream();
        using (var writer = new LogWriter(stream))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(source => Task.Run(async () =>
            {
                for (var i = 0; i < 200; i++)
                {
                    await writer.WriteLineAsync((LogSource)(source % 3), $"{source}:{i}:" + new string((char)('a' + source), 300));
                }
            })));
        }

        var records = await ReadAllAsync(stream.ToArray());

        Assert.Equal(8 * 200, records.Count);
        Assert.All(records, record =>
        {
            var source = int.Parse(record.Text[..record.Text.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal((LogSource)(source % 3), record.Source);
            Assert.EndsWith(new string((char)('a' + source), 300), record.Text, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("stdout", "no space after the source name")]
    [InlineData("stdin hello", "unknown source 'stdin' at offset 0")]
    [InlineData("STDOUT hello", "unknown source 'STDOUT'")]
    [InlineData("stdout++ hello", "unknown source 'stdout+'")]
    [InlineData(" hello", "unknown source ''")]
    public async Task Malformed_records_are_rejected_with_what_is_wrong(string line, string expected)
    {
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(Encoding.UTF8.GetBytes(line + "\n")));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_longer_than_any_writer_produces_is_rejected()
    {
        var line = "stdout " + new string('x', LogRecord.MaxTextLength + 1) + "\n";

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAllAsync(Encoding.UTF8.GetBytes(line)));

        Assert.Contains($"at most {LogRecord.MaxTextLength}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_record_is_truncated() =>
        await Assert.ThrowsAsync<EndOfStreamException>(() => ReadAllAsync("stdout complete\nstderr cut off"u8.ToArray()));

    [Fact]
    public async Task An_undefined_source_is_refused_before_anything_is_written()
    {
        using var stream = new MemoryStream();
        using var writer = new LogWriter(stream);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => writer.CopyLinesAsync((LogSource)7, new Pipe().Reader));
        Assert.Equal(0, stream.Length);
    }

    private static async Task<byte[]> WriteAsync(Func<LogWriter, Task> write)
    {
        using var stream = new MemoryStream();
        using (var writer = new LogWriter(stream))
        {
            await write(writer);
        }

        return stream.ToArray();
    }

    private static async Task<List<LogRecord>> ReadAllAsync(byte[] wire)
    {
        var reader = new LogReader(new MemoryStream(wire));
        var records = new List<LogRecord>();
        while (await reader.ReadAsync() is { } record)
        {
            records.Add(record);
        }

        return records;
    }
}
