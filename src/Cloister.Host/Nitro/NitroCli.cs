using System.Globalization;
using System.Text.Json;
using Cloister.Host.Processes;

namespace Cloister.Host.Nitro;

/// <summary>
/// Drives <c>nitro-cli</c>: <c>run-enclave</c>, <c>describe-enclaves</c> and <c>terminate-enclave</c>, reading the JSON
/// each prints on stdout. <c>run-enclave</c> prints progress lines before its JSON object; they are skipped.
/// </summary>
/// <param name="runner">Runs the program.</param>
/// <param name="executable">The <c>nitro-cli</c> program.</param>
public sealed class NitroCli(IProcessRunner runner, string executable = "nitro-cli")
{
    /// <summary>Starts an enclave.</summary>
    /// <param name="imagePath">The EIF.</param>
    /// <param name="cpuCount">vCPUs to give it.</param>
    /// <param name="memoryMib">Memory to give it, in MiB.</param>
    /// <param name="debugMode">Whether to start it in debug mode (console readable, PCRs zero in its documents).</param>
    /// <param name="cid">The CID to ask for; nitro-cli picks one when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The started enclave.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="imagePath"/> is <see langword="null"/>.</exception>
    /// <exception cref="NitroCliException">nitro-cli failed or its output is not the expected JSON.</exception>
    /// <exception cref="IOException">nitro-cli could not be started.</exception>
    public async Task<NitroEnclaveInfo> RunEnclaveAsync(string imagePath, int cpuCount, int memoryMib, bool debugMode, uint? cid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        List<string> arguments =
        [
            "run-enclave", "--eif-path", imagePath,
            "--cpu-count", cpuCount.ToString(CultureInfo.InvariantCulture),
            "--memory", memoryMib.ToString(CultureInfo.InvariantCulture),
        ];
        if (debugMode)
        {
            arguments.Add("--debug-mode");
        }

        if (cid is { } requested)
        {
            arguments.AddRange(["--enclave-cid", requested.ToString(CultureInfo.InvariantCulture)]);
        }

        using var json = await RunJsonAsync(arguments, cancellationToken);
        return ReadEnclave(json.RootElement, "run-enclave");
    }

    /// <summary>Lists the enclaves running on this instance.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The enclaves.</returns>
    /// <exception cref="NitroCliException">nitro-cli failed or its output is not the expected JSON.</exception>
    /// <exception cref="IOException">nitro-cli could not be started.</exception>
    public async Task<IReadOnlyList<NitroEnclaveInfo>> DescribeEnclavesAsync(CancellationToken cancellationToken)
    {
        using var json = await RunJsonAsync(["describe-enclaves"], cancellationToken);
        return json.RootElement.ValueKind == JsonValueKind.Array
            ? [.. json.RootElement.EnumerateArray().Select(element => ReadEnclave(element, "describe-enclaves"))]
            : throw new NitroCliException($"describe-enclaves: expected a JSON array, got {json.RootElement.ValueKind}");
    }

    /// <summary>Terminates an enclave.</summary>
    /// <param name="enclaveId">Its <c>EnclaveID</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether nitro-cli reports it terminated (<c>"Terminated": true</c>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="enclaveId"/> is <see langword="null"/>.</exception>
    /// <exception cref="NitroCliException">nitro-cli failed or its output is not the expected JSON.</exception>
    /// <exception cref="IOException">nitro-cli could not be started.</exception>
    public async Task<bool> TerminateEnclaveAsync(string enclaveId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(enclaveId);
        using var json = await RunJsonAsync(["terminate-enclave", "--enclave-id", enclaveId], cancellationToken);
        return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("Terminated", out var terminated)
            && terminated.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? terminated.GetBoolean()
            : throw new NitroCliException("terminate-enclave: the answer has no boolean \"Terminated\"");
    }

    private async Task<JsonDocument> RunJsonAsync(List<string> arguments, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(executable, arguments, cancellationToken);
        var command = arguments[0];
        if (result.ExitCode != 0)
        {
            var detail = (result.Stderr.Trim() is { Length: > 0 } stderr ? stderr : result.Stdout.Trim()).ReplaceLineEndings(" ");
            throw new NitroCliException($"nitro-cli {command} exited with {result.ExitCode}: {detail}");
        }

        // run-enclave prints "Start allocating memory..." and "Started enclave with enclave-cid: 16, …, cpu-ids: [1, 3]"
        // before its JSON, so the JSON is where a line starts with a bracket, not at the first bracket.
        var start = FindJsonStart(result.Stdout);
        if (start < 0)
        {
            throw new NitroCliException($"nitro-cli {command}: no JSON in its output");
        }

        try
        {
            return JsonDocument.Parse(result.Stdout.AsMemory(start));
        }
        catch (JsonException ex)
        {
            throw new NitroCliException($"nitro-cli {command}: its JSON at character {start} is malformed: {ex.Message}", ex);
        }
    }

    private static int FindJsonStart(string output)
    {
        for (var lineStart = 0; lineStart < output.Length;)
        {
            var text = output.AsSpan(lineStart);
            var indent = text.Length - text.TrimStart(" \t\r").Length;
            if (text.Length > indent && text[indent] is '{' or '[')
            {
                return lineStart + indent;
            }

            var newline = output.IndexOf('\n', lineStart);
            if (newline < 0)
            {
                break;
            }

            lineStart = newline + 1;
        }

        return -1;
    }

    private static NitroEnclaveInfo ReadEnclave(JsonElement element, string command)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new NitroCliException($"{command}: expected a JSON object per enclave, got {element.ValueKind}");
        }

        JsonElement Member(string name) => element.TryGetProperty(name, out var value)
            ? value
            : throw new NitroCliException($"{command}: the enclave has no \"{name}\"");
        string Text(string name) => Member(name) is { ValueKind: JsonValueKind.String } value
            ? value.GetString()!
            : throw new NitroCliException($"{command}: \"{name}\" is not a string");
        long Number(string name, long maximum) => Member(name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var number) && number >= 0 && number <= maximum
            ? number
            : throw new NitroCliException($"{command}: \"{name}\" is not a whole number 0–{maximum}");
        string? Optional(string name) => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        return new NitroEnclaveInfo(
            Text("EnclaveName"),
            Text("EnclaveID"),
            (int)Number("ProcessID", int.MaxValue),
            (uint)Number("EnclaveCID", uint.MaxValue),
            (int)Number("NumberOfCPUs", int.MaxValue),
            (int)Number("MemoryMiB", int.MaxValue),
            Optional("State"),
            Optional("Flags"));
    }
}
