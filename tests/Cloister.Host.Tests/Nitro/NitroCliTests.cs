using Cloister.Host.Nitro;
using Cloister.Host.Processes;

namespace Cloister.Host.Tests.Nitro;

public sealed class NitroCliTests
{
    // The members both run-enclave and describe-enclaves print for an enclave.
    private const string EnclaveMembers = """
          "EnclaveName": "hello",
          "EnclaveID": "i-0123456789abcdef0-enc0123456789abcdef",
          "ProcessID": 4242,
          "EnclaveCID": 16,
          "NumberOfCPUs": 2,
          "CPUIDs": [1, 3],
          "MemoryMiB": 512
        """;

    // What nitro-cli 1.3 prints for run-enclave: progress lines, then the JSON object.
    private const string RunEnclaveOutput = "Start allocating memory...\nStarted enclave with enclave-cid: 16, memory: 512 MiB, cpu-ids: [1, 3]\n{\n" + EnclaveMembers + "\n}\n";

    // describe-enclaves adds the state and flags.
    private const string DescribeOutput = "[\n{\n" + EnclaveMembers + ",\n\"State\": \"RUNNING\",\n\"Flags\": \"DEBUG_MODE\"\n}\n]\n";

    [Fact]
    public async Task Run_enclave_passes_every_option_and_reads_the_json_after_the_progress_lines()
    {
        var runner = new FakeProcessRunner(_ => new ProcessOutput(0, RunEnclaveOutput, ""));
        var info = await new NitroCli(runner, "/usr/bin/nitro-cli").RunEnclaveAsync("/images/hello.eif", 2, 512, debugMode: true, cid: 16, CancellationToken.None);

        var (fileName, arguments) = Assert.Single(runner.Calls);
        Assert.Equal("/usr/bin/nitro-cli", fileName);
        Assert.Equal(["run-enclave", "--eif-path", "/images/hello.eif", "--cpu-count", "2", "--memory", "512", "--debug-mode", "--enclave-cid", "16"], arguments);
        Assert.Equal(new NitroEnclaveInfo("hello", "i-0123456789abcdef0-enc0123456789abcdef", 4242, 16, 2, 512, null, null), info);
    }

    [Fact]
    public async Task Run_enclave_without_debug_or_cid_leaves_those_options_out()
    {
        var runner = new FakeProcessRunner(_ => new ProcessOutput(0, RunEnclaveOutput, ""));
        await new NitroCli(runner).RunEnclaveAsync("hello.eif", 4, 2048, debugMode: false, cid: null, CancellationToken.None);

        Assert.Equal(["run-enclave", "--eif-path", "hello.eif", "--cpu-count", "4", "--memory", "2048"], Assert.Single(runner.Calls).Arguments);
    }

    [Fact]
    public async Task Describe_and_terminate_parse_their_answers()
    {
        var runner = new FakeProcessRunner(arguments => arguments[0] switch
        {
            "describe-enclaves" => new ProcessOutput(0, DescribeOutput, ""),
            _ => new ProcessOutput(0, """{"EnclaveName":"hello","EnclaveID":"i-0123456789abcdef0-enc0123456789abcdef","Terminated":true}""", ""),
        });
        var cli = new NitroCli(runner);

        var enclave = Assert.Single(await cli.DescribeEnclavesAsync(CancellationToken.None));
        Assert.Equal("RUNNING", enclave.State);
        Assert.Equal("DEBUG_MODE", enclave.Flags);
        Assert.True(await cli.TerminateEnclaveAsync(enclave.EnclaveId, CancellationToken.None));
        Assert.Equal(["terminate-enclave", "--enclave-id", "i-0123456789abcdef0-enc0123456789abcdef"], runner.Calls[1].Arguments);
    }

    [Theory]
    [InlineData(1, "", "[ E26 ] Insufficient memory requested.", "exited with 1: [ E26 ] Insufficient memory requested.")]
    [InlineData(0, "Start allocating memory...\n", "", "no JSON")]
    [InlineData(0, "{\"EnclaveName\": \"x\"", "", "malformed")]
    [InlineData(0, "{\"EnclaveName\":\"x\",\"EnclaveID\":\"y\",\"ProcessID\":1,\"EnclaveCID\":-3,\"NumberOfCPUs\":2,\"MemoryMiB\":512}", "", "\"EnclaveCID\" is not a whole number")]
    [InlineData(0, "{\"EnclaveName\":\"x\",\"ProcessID\":1,\"EnclaveCID\":16,\"NumberOfCPUs\":2,\"MemoryMiB\":512}", "", "no \"EnclaveID\"")]
    public async Task Failures_and_unexpected_output_name_what_was_wrong(int exitCode, string stdout, string stderr, string expected)
    {
        var cli = new NitroCli(new FakeProcessRunner(_ => new ProcessOutput(exitCode, stdout, stderr)));

        var error = await Assert.ThrowsAsync<NitroCliException>(() => cli.RunEnclaveAsync("x.eif", 2, 512, false, null, CancellationToken.None));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
