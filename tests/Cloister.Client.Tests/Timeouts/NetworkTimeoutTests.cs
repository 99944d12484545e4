using System.Net;
using Cloister.Attestation.Tests.Simulation;
using Cloister.Client.Http;
using Cloister.Client.Tls;
using Cloister.Testing;

namespace Cloister.Client.Tests.Timeouts;

/// <summary>
/// Servers that stall a client at each network step: every step ends with a <see cref="NetworkTimeoutException"/>
/// naming it, after a bound of one second, instead of hanging.
/// </summary>
public sealed class NetworkTimeoutTests(SimulatedRootFixture fixture) : ScenarioTests(fixture)
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(1);
    private static readonly ClientTimeouts s_short = new() { Connect = s_bound, Response = s_bound };

    [Fact]
    public async Task A_server_that_accepts_and_never_speaks_times_out_the_tls_handshake()
    {
        using var listener = StalledListener.Silent();

        var thrown = await Assert.ThrowsAsync<NetworkTimeoutException>(
            () => AttestedTlsClient.AttestAsync(Scenario.Host, listener.Port, Scenario.Verifier(), timeouts: s_short));

        Assert.Equal(NetworkStep.TlsHandshake, thrown.Step);
        Assert.Equal($"localhost:{listener.Port}", thrown.Endpoint);
        Assert.Equal($"the TLS handshake with localhost:{listener.Port} timed out after 1 s", thrown.Message);
    }

    [Fact]
    public async Task A_connect_that_never_completes_times_out_the_connect()
    {
        using var listener = StalledListener.Full();

        var thrown = await Assert.ThrowsAsync<NetworkTimeoutException>(
            () => AttestedTlsClient.ConnectAsync("127.0.0.1", listener.Port, Scenario.Verifier(), timeouts: s_short));

        Assert.Equal(NetworkStep.Connect, thrown.Step);
        Assert.Equal(s_bound, thrown.Timeout);
    }

    [Fact]
    public async Task The_callers_own_cancellation_stays_a_cancellation()
    {
        using var listener = StalledListener.Silent();
        using var cancel = new CancellationTokenSource(s_bound);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => AttestedTlsClient.AttestAsync(Scenario.Host, listener.Port, Scenario.Verifier(), cancellationToken: cancel.Token));
    }

    [Theory]
    [InlineData(false, NetworkStep.TlsHandshake)]
    [InlineData(true, NetworkStep.Connect)]
    public async Task The_handler_names_a_stalled_connect_or_handshake(bool fullBacklog, NetworkStep step)
    {
        using var listener = fullBacklog ? StalledListener.Full() : StalledListener.Silent();
        using var client = Client();

        var thrown = await Assert.ThrowsAsync<NetworkTimeoutException>(() => client.GetAsync(Address(listener.Port, "/")));

        Assert.Equal(step, thrown.Step);
        Assert.Equal($"{Scenario.Host}:{listener.Port}", thrown.Endpoint);
    }

    [Fact]
    public async Task An_attested_server_that_never_answers_times_out_the_response_headers()
    {
        await using var server = Serve(RawResponses.Silent);
        using var client = Client();

        var thrown = await Assert.ThrowsAsync<NetworkTimeoutException>(() => client.GetAsync(Address(server.Port, "/slow")));

        Assert.Equal(NetworkStep.ResponseHeaders, thrown.Step);
        Assert.StartsWith("GET /slow ", Assert.Single(server.Requests), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_stalls_times_out_the_read_after_the_bytes_that_came()
    {
        await using var server = Serve(RawResponses.StallingBody("first bytes"));
        using var client = Client();
        using var response = await client.GetAsync(Address(server.Port, "/"), HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];

        var read = await body.ReadAsync(buffer);
        var thrown = await Assert.ThrowsAsync<NetworkTimeoutException>(async () => await body.ReadAtLeastAsync(buffer, 1));

        Assert.Equal("first bytes", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
        Assert.Equal(NetworkStep.ResponseBody, thrown.Step);
        // Buffering the whole body (GetStringAsync) fails the same way.
        Assert.Equal(NetworkStep.ResponseBody, (await Assert.ThrowsAsync<NetworkTimeoutException>(() => client.GetStringAsync(Address(server.Port, "/")))).Step);
    }

    [Fact]
    public async Task A_server_that_stops_reading_the_request_times_out_sending_it()
    {
        await using var server = Serve(RawResponses.Silent);
        using var client = Client();
        using var content = new EndlessContent();

        var thrown = await Assert.ThrowsAsync<NetworkTimeoutException>(() => client.PostAsync(Address(server.Port, "/upload"), content));

        Assert.Equal(NetworkStep.Request, thrown.Step);
    }

    [Fact]
    public async Task Well_known_attestation_is_bounded_in_time_and_size()
    {
        using var silent = StalledListener.Silent();
        await using var stalling = Serve(RawResponses.StallingBody("{\"attestation_doc\":"));
        await using var endless = Serve(RawResponses.Endless);

        var handshake = await Assert.ThrowsAsync<NetworkTimeoutException>(
            () => WellKnownAttestation.FetchAsync(Address(silent.Port, "/"), Scenario.Verifier(), timeouts: s_short));
        var body = await Assert.ThrowsAsync<NetworkTimeoutException>(
            () => WellKnownAttestation.FetchAsync(Address(stalling.Port, "/"), Scenario.Verifier(), timeouts: s_short));
        var tooLong = await Assert.ThrowsAsync<HttpRequestException>(
            () => WellKnownAttestation.FetchAsync(Address(endless.Port, "/"), Scenario.Verifier(), timeouts: s_short));

        Assert.Equal(NetworkStep.TlsHandshake, handshake.Step);
        Assert.Equal(NetworkStep.ResponseBody, body.Step);
        Assert.Contains(WellKnownAttestation.MaxAnswerLength.ToString(System.Globalization.CultureInfo.InvariantCulture), tooLong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeouts_are_positive_or_infinite()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), ClientTimeouts.Default.Connect);
        Assert.Equal(TimeSpan.FromSeconds(30), ClientTimeouts.Default.Response);
        Assert.Equal(Timeout.InfiniteTimeSpan, new ClientTimeouts { Response = Timeout.InfiniteTimeSpan }.Response);
        Assert.Equal("Connect", Assert.Throws<ArgumentOutOfRangeException>(() => new ClientTimeouts { Connect = TimeSpan.Zero }).ParamName);
        Assert.Equal("Response", Assert.Throws<ArgumentOutOfRangeException>(() => new ClientTimeouts { Response = TimeSpan.FromSeconds(-2) }).ParamName);
    }

    private TestTlsServer Serve(Func<string, Stream, CancellationToken, Task> respond)
    {
        var certificate = Enclave.Certificate();
        return new TestTlsServer(certificate) { RespondRaw = respond };
    }

    private HttpClient Client() => new(new AttestingHttpHandler(Scenario.Verifier(), s_short));

    private static Uri Address(int port, string path) => new($"https://{Scenario.Host}:{port}{path}");

    /// <summary>A request body that never ends, written as fast as the connection takes it.</summary>
    private sealed class EndlessContent : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var block = new byte[64 * 1024];
            while (true)
            {
                await stream.WriteAsync(block);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
