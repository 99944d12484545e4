using System.Text;
using Cloister.Enclave.Apps;
using Cloister.Runtime.Messages;

namespace Cloister.Enclave.Tests.Apps;

public sealed class AppOutputTests
{
    [Fact]
    public async Task With_an_echo_stream_the_app_output_goes_to_the_console_and_to_the_host()
    {
        var echo = new MemoryStream();
        var logged = new MemoryStream();

        await PumpAsync("one\ntwo\n", echo, logged);

        Assert.Equal("one\ntwo\n", Encoding.UTF8.GetString(echo.ToArray()));
        Assert.Equal(["one", "two"], await LoggedLinesAsync(logged));
    }

    [Fact]
    public async Task Without_an_echo_stream_the_output_goes_only_to_the_host()
    {
        var logged = new MemoryStream();

        await PumpAsync("only\n", echo: null, logged);

        Assert.Equal(["only"], await LoggedLinesAsync(logged));
    }

    private static async Task PumpAsync(string output, Stream? echo, Stream logged)
    {
        using var log = new LogWriter(logged);
        await AppOutput.PumpAsync(new MemoryStream(Encoding.UTF8.GetBytes(output)), echo, log, LogSource.Stdout);
    }

    private static async Task<List<string>> LoggedLinesAsync(MemoryStream logged)
    {
        var reader = new LogReader(new MemoryStream(logged.ToArray()));
        var lines = new List<string>();
        while (await reader.ReadAsync() is { } record)
        {
            Assert.Equal(LogSource.Stdout, record.Source);
            lines.Add(record.Text);
        }

        return lines;
    }
}
