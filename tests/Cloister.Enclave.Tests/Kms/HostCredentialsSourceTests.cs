using System.Text;
using Cloister.Enclave.Kms;
using Cloister.Kms.Credentials;
using Cloister.Runtime.Vsock;
using Cloister.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Enclave.Tests.Kms;

/// <summary>The enclave's side of vsock 7004, against a host listener on the simulated vsock that counts its connections.</summary>
public sealed class HostCredentialsSourceTests : IAsyncLifetime, IDisposable
{
    private const uint EnclaveCid = 16;
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 21, 0, 0, TimeSpan.Zero);

    private readonly TempRunDirectory _run = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly FakeTimeProvider _clock = new(s_now);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private VsockListener? _listener;
    private Task? _serving;
    private int _connections;
    private Func<int, string> _answer = _ => "";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        await _stop.CancelAsync();
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        if (_serving is not null)
        {
            await _serving;
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task Credentials_are_kept_until_five_minutes_before_they_expire()
    {
        await ServeAsync(n => $$"""{"AccessKeyId":"ASIA{{n}}","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-07T22:00:00Z"}""");
        _release.SetResult();
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        Assert.Equal("ASIA1", (await source.GetAsync(CancellationToken.None)).AccessKeyId);
        _clock.Advance(TimeSpan.FromMinutes(54));
        Assert.Equal("ASIA1", (await source.GetAsync(CancellationToken.None)).AccessKeyId);
        Assert.Equal(1, Volatile.Read(ref _connections));

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("ASIA2", (await source.GetAsync(CancellationToken.None)).AccessKeyId);
        Assert.Equal(2, Volatile.Read(ref _connections));
    }

    [Fact]
    public async Task Long_term_keys_are_fetched_once()
    {
        await ServeAsync(n => $$"""{"AccessKeyId":"AKIA{{n}}","SecretAccessKey":"s"}""");
        _release.SetResult();
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        await source.GetAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromDays(30));

        Assert.Equal(new AwsCredentials("AKIA1", "s", null, null), await source.GetAsync(CancellationToken.None));
        Assert.Equal(1, Volatile.Read(ref _connections));
    }

    [Fact]
    public async Task Callers_that_arrive_during_a_fetch_share_it()
    {
        await ServeAsync(n => $$"""{"AccessKeyId":"AKIA{{n}}","SecretAccessKey":"s"}""");
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        var callers = Enumerable.Range(0, 8).Select(_ => source.GetAsync(CancellationToken.None).AsTask()).ToArray();
        _release.SetResult();
        var all = await Task.WhenAll(callers);

        Assert.All(all, credentials => Assert.Equal("AKIA1", credentials.AccessKeyId));
        Assert.Equal(1, Volatile.Read(ref _connections));
    }

    [Fact]
    public async Task The_hosts_error_line_is_the_reason()
    {
        await ServeAsync(_ => """{"error":"Failed to resolve AWS credentials."}""");
        _release.SetResult();
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        var ex = await Assert.ThrowsAsync<KmsCredentialsException>(() => source.GetAsync(CancellationToken.None).AsTask());

        Assert.Equal("the host has no AWS credentials: Failed to resolve AWS credentials.", ex.Message);
    }

    [Fact]
    public async Task A_failed_fetch_is_not_kept_and_the_next_caller_asks_again()
    {
        await ServeAsync(n => n == 1 ? """{"error":"not yet"}""" : """{"AccessKeyId":"AKIA2","SecretAccessKey":"s"}""");
        _release.SetResult();
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        await Assert.ThrowsAsync<KmsCredentialsException>(() => source.GetAsync(CancellationToken.None).AsTask());

        Assert.Equal("AKIA2", (await source.GetAsync(CancellationToken.None)).AccessKeyId);
    }

    [Fact]
    public async Task Without_the_hosts_service_the_reason_names_the_port()
    {
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        var ex = await Assert.ThrowsAsync<KmsCredentialsException>(() => source.GetAsync(CancellationToken.None).AsTask());

        Assert.StartsWith($"no AWS credentials from the host (vsock {VsockEndpoint.KmsCredentialsPort}): ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_line_without_end_is_refused_at_the_bound()
    {
        await ServeAsync(_ => new string('x', KmsCredentialsLine.MaxLength + 10));
        _release.SetResult();
        var source = new HostCredentialsSource(EnclaveTransport(), _clock);

        var ex = await Assert.ThrowsAsync<KmsCredentialsException>(() => source.GetAsync(CancellationToken.None).AsTask());

        Assert.Equal($"no AWS credentials from the host (vsock {VsockEndpoint.KmsCredentialsPort}): the host's line is longer than {KmsCredentialsLine.MaxLength} bytes", ex.Message);
    }

    private VsockTransport EnclaveTransport() =>
        VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = EnclaveCid });

    // Answers connection N with answer(N) and a newline, once the test releases the answers.
    private async Task ServeAsync(Func<int, string> answer)
    {
        _answer = answer;
        var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = VsockEndpoint.HostCid });
        _listener = await host.ListenAsync(VsockEndpoint.KmsCredentialsPort);
        _serving = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await using var stream = await _listener.AcceptAsync(_stop.Token);
                    var n = Interlocked.Increment(ref _connections);
                    await _release.Task;
                    try
                    {
                        await stream.WriteAsync(Encoding.UTF8.GetBytes(_answer(n) + "\n"), _stop.Token);
                        stream.CompleteWrites();
                    }
                    catch (IOException)
                    {
                        // The enclave side hung up first (after an overlong line): the next connection is still served.
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException)
            {
                // The test is over.
            }
        });
    }
}
