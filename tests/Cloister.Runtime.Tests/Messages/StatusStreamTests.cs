using System.Text;
using Cloister.Runtime.Messages;

namespace Cloister.Runtime.Tests.Messages;

public sealed class StatusStreamTests
{
    public static TheoryData<StatusEvent, string> Events => new()
    {
        { new BootingEvent(), """{"event":"booting"}""" },
        { new ProvisionedEvent(), """{"event":"provisioned"}""" },
        { new ReadyEvent(), """{"event":"ready"}""" },
        { new ExitedEvent(3, null), """{"event":"exited","code":3,"signal":null}""" },
        { new ExitedEvent(null, 9), """{"event":"exited","code":null,"signal":9}""" },
        { new RestartingEvent(1, 3, null, 1000), """{"event":"restarting","restart":1,"code":3,"signal":null,"delay_ms":1000}""" },
        { new RestartingEvent(7, null, 15, 30000), """{"event":"restarting","restart":7,"code":null,"signal":15,"delay_ms":30000}""" },
        { new HealthEvent(true, "200 OK"), """{"event":"health","ok":true,"detail":"200 OK"}""" },
        { new HealthEvent(false, null), """{"event":"health","ok":false,"detail":null}""" },
    };

    [Theory]
    [MemberData(nameof(Events))]
    public async Task Every_event_has_its_exact_json_line_and_round_trips(StatusEvent statusEvent, string json)
    {
        using var stream = new MemoryStream();
        using (var writer = new StatusWriter(stream))
        {
            await writer.WriteAsync(statusEvent);
        }

        Assert.Equal(json + "\n", Encoding.UTF8.GetString(stream.ToArray()));
        stream.Position = 0;
        var reader = new StatusReader(stream);
        Assert.Equal(statusEvent, await reader.ReadAsync());
        Assert.Null(await reader.ReadAsync());
    }

    [Fact]
    public async Task A_stream_of_events_reads_back_in_order()
    {
        StatusEvent[] events = [new BootingEvent(), new ProvisionedEvent(), new ReadyEvent(), new HealthEvent(true, "line\nbreak \"quoted\""), new ExitedEvent(0, null)];
        using var stream = new MemoryStream();
        using (var writer = new StatusWriter(stream))
        {
            await Task.WhenAll(events.Take(1).Select(e => writer.WriteAsync(e).AsTask()));
            foreach (var statusEvent in events.Skip(1))
            {
                await writer.WriteAsync(statusEvent);
            }
        }

        stream.Position = 0;
        var reader = new StatusReader(stream);
        var read = new List<StatusEvent>();
        while (await reader.ReadAsync() is { } statusEvent)
        {
            read.Add(statusEvent);
        }

        Assert.Equal(events, read);
    }

    [Theory]
    [InlineData("not json", "status line:")]
    [InlineData("""{"event":"rebooting"}""", "status line:")]
    [InlineData("""{"code":3,"signal":null}""", "status line:")]
    [InlineData("""{"code":3,"signal":null,"event":"exited"}""", "status line:")]
    [InlineData("""{"event":"ready","extra":1}""", "extra")]
    [InlineData("""{"event":"exited","code":3}""", "signal")]
    [InlineData("""{"event":"exited","code":null,"signal":null}""", "needs a \"code\" or a \"signal\"")]
    [InlineData("""{"event":"exited","code":1,"signal":9}""", "both")]
    [InlineData("""{"event":"exited","code":256,"signal":null}""", "outside 0–255")]
    [InlineData("""{"event":"exited","code":null,"signal":0}""", "outside 1–64")]
    [InlineData("""{"event":"exited","code":"3","signal":null}""", "code")]
    [InlineData("""{"event":"restarting","restart":0,"code":3,"signal":null,"delay_ms":1000}""", "\"restart\" 0 is not positive")]
    [InlineData("""{"event":"restarting","restart":1,"code":3,"signal":null,"delay_ms":-1}""", "\"delay_ms\" -1 is negative")]
    [InlineData("""{"event":"restarting","restart":1,"code":3,"signal":15,"delay_ms":1000}""", "\"restarting\" has both")]
    [InlineData("""{"event":"restarting","restart":1,"code":null,"signal":null,"delay_ms":1000}""", "\"restarting\" needs")]
    [InlineData("""{"event":"restarting","restart":1,"code":3,"signal":null}""", "delay_ms")]
    [InlineData("""{"event":"health","detail":"x"}""", "ok")]
    [InlineData("""{"event":"health","ok":null,"detail":"x"}""", "ok")]
    [InlineData("null", "null")]
    [InlineData("""{"event":"ready"} {"event":"ready"}""", "status line:")]
    public async Task Malformed_status_lines_are_rejected_with_what_is_wrong(string line, string expected)
    {
        var reader = new StatusReader(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => reader.ReadAsync().AsTask());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_line_is_truncated()
    {
        var reader = new StatusReader(new MemoryStream(Encoding.UTF8.GetBytes("{\"event\":\"ready\"}\n{\"event\":\"rea")));

        Assert.Equal(new ReadyEvent(), await reader.ReadAsync());
        var ex = await Assert.ThrowsAsync<EndOfStreamException>(() => reader.ReadAsync().AsTask());
        Assert.Contains("13 bytes into a line", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_overlong_line_is_rejected_without_waiting_for_its_end()
    {
        var pipe = new System.IO.Pipelines.Pipe();
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("{\"event\":\"health\",\"ok\":true,\"detail\":\"" + new string('x', StatusWriter.MaxLineLength)));
        var reader = new StatusReader(pipe.Reader);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => reader.ReadAsync().AsTask());

        Assert.Contains($"longer than {StatusWriter.MaxLineLength} bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_writer_refuses_events_the_reader_would_reject()
    {
        using var writer = new StatusWriter(new MemoryStream());

        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new ExitedEvent(null, null)).AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteAsync(new HealthEvent(false, new string('x', StatusWriter.MaxLineLength))).AsTask());
    }
}
