using System.Text.Json;
using Cloister.Attestation.Simulation;
using Cloister.Enclave.LocalApi;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Runtime.Nsm;

namespace Cloister.Enclave.Tests.LocalApi;

/// <summary>The local API in process, on a free loopback port, over a socket NSM served by the software NSM.</summary>
internal sealed class LocalApiHarness : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-local-api-").FullName;
    private readonly SoftwareNsmSocket _nsm;
    private NsmSocketDevice? _device;
    private LocalApiServer? _server;

    private LocalApiHarness()
    {
        _nsm = new SoftwareNsmSocket(Path.Combine(_directory, "nsm.sock"));
    }

    public SimulatedNitroRoot Root => _nsm.Root;

    public HttpClient Client { get; } = new();

    public int Port => _server!.Port;

    /// <summary>An error answer's <c>error</c> and <c>reason</c>, checking it is the API's JSON error.</summary>
    public static async Task<(string Error, string? Reason)> ReadErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var reason = json.RootElement.TryGetProperty("reason", out var value) ? value.GetString() : null;
        return (json.RootElement.GetProperty("error").GetString()!, reason);
    }

    public static async Task<LocalApiHarness> StartAsync(LocalApiOptions options)
    {
        var harness = new LocalApiHarness();
        harness._device = await harness._nsm.ConnectAsync();
        harness._server = await LocalApiServer.StartAsync(0, harness._device, options);
        harness.Client.BaseAddress = new Uri($"http://127.0.0.1:{harness._server.Port}");
        return harness;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _device?.Dispose();
        await _nsm.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
