using System.Collections.Concurrent;
using Cloister.Host.Kms;
using Cloister.Host.Supervision;
using Cloister.Kms.Credentials;
using Cloister.Runtime.Vsock;
using Cloister.Testing;
using Cloister.Testing.Kms;
using Microsoft.Extensions.Time.Testing;

namespace Cloister.Host.Tests.Kms;

/// <summary>
/// The SDK's default chain reads this process's environment each time it resolves, so these tests set it, one at a
/// time (a collection of their own that runs alone), and put it back.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironment
{
    public const string Name = "process environment";
}

[Collection(ProcessEnvironment.Name)]
public sealed class KmsCredentialsServiceTests : IAsyncLifetime, IDisposable
{
    private const uint EnclaveCid = 16;
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 21, 0, 0, TimeSpan.Zero);

    private readonly TempRunDirectory _run = new();
    private readonly Dictionary<string, string?> _saved = [];
    private readonly ConcurrentQueue<string> _notices = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly FakeTimeProvider _clock = new(s_now);
    private VsockListener? _listener;
    private Task? _serving;

    public Task InitializeAsync()
    {
        // Nothing of this machine's (AWS_CA_BUNDLE is set here, a developer may have keys or a profile) reaches the chain:
        // every AWS_ variable is cleared, and the shared files are ones that do not exist.
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(name => name.StartsWith("AWS_", StringComparison.Ordinal)))
        {
            Set(name, null);
        }

        Set("AWS_SHARED_CREDENTIALS_FILE", Path.Combine(_run.Path, "no-credentials"));
        Set("AWS_CONFIG_FILE", Path.Combine(_run.Path, "no-config"));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        if (_serving is not null)
        {
            await _serving;
        }

        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        _run.Dispose();
    }

    [Fact]
    public async Task Credentials_from_the_environment_reach_the_enclave_in_one_line()
    {
        Set("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE");
        Set("AWS_SECRET_ACCESS_KEY", "env/secret+key");
        Set("AWS_EC2_METADATA_DISABLED", "true");
        await ServeAsync();

        var credentials = KmsCredentialsLine.Parse(await ReadLineAsync());

        Assert.Equal(new AwsCredentials("AKIAENVEXAMPLE", "env/secret+key", null, null), credentials);
        Assert.Contains("kms: gave the enclave AWS credentials AKIAENVEXAMPLE (long-term keys)", _notices);
    }

    [Fact]
    public async Task A_session_token_from_the_environment_comes_with_a_bounded_expiry()
    {
        Set("AWS_ACCESS_KEY_ID", "ASIAENVEXAMPLE");
        Set("AWS_SECRET_ACCESS_KEY", "env-secret");
        Set("AWS_SESSION_TOKEN", "env-session-token");
        Set("AWS_EC2_METADATA_DISABLED", "true");
        await ServeAsync();

        var credentials = KmsCredentialsLine.Parse(await ReadLineAsync());

        Assert.Equal(new AwsCredentials("ASIAENVEXAMPLE", "env-secret", "env-session-token", s_now + KmsCredentialsService.UnstatedExpiry), credentials);
    }

    [Fact]
    public async Task Without_environment_credentials_the_instance_role_comes_from_imdsv2()
    {
        await using var imds = new FakeImds("cloister-host-role", "ASIAIMDSEXAMPLE", "imds-secret", "imds-session-token", s_now.AddHours(6));
        Set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.Endpoint);
        await ServeAsync();

        var credentials = KmsCredentialsLine.Parse(await ReadLineAsync());

        Assert.Equal(("ASIAIMDSEXAMPLE", "imds-secret", "imds-session-token"), (credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken));
        Assert.NotNull(credentials.Expiration);
        // IMDSv2 exactly: a session token first, then the role's name and its credentials with that token.
        Assert.Equal("PUT /latest/api/token 200", imds.Requests.First());
        Assert.Contains("GET /latest/meta-data/iam/security-credentials/cloister-host-role 200", imds.Requests);
        Assert.DoesNotContain(imds.Requests, request => request.EndsWith(" 401", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_nothing_available_the_enclave_gets_the_error_line()
    {
        Set("AWS_EC2_METADATA_DISABLED", "true");
        await ServeAsync();

        var line = await ReadLineAsync();
        var ex = Assert.Throws<KmsCredentialsException>(() => KmsCredentialsLine.Parse(line));

        Assert.StartsWith("the host has no AWS credentials: Failed to resolve AWS credentials.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_ACCESS_KEY_ID", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.Contains(_notices, notice => notice.StartsWith("kms: no AWS credentials for the enclave: Failed to resolve AWS credentials.", StringComparison.Ordinal));
    }

    private void Set(string name, string? value)
    {
        _saved.TryAdd(name, Environment.GetEnvironmentVariable(name));
        Environment.SetEnvironmentVariable(name, value);
    }

    private async Task ServeAsync()
    {
        var service = new KmsCredentialsService(cancellationToken => KmsCredentialsService.ResolveDefaultChainAsync(_clock, cancellationToken), _notices.Enqueue).Service;
        Assert.Equal(VsockEndpoint.KmsCredentialsPort, service.Port);
        var host = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = VsockEndpoint.HostCid });
        _listener = await host.ListenAsync(service.Port);
        _serving = service.Start(_listener, _notices.Enqueue, _stop.Token).Serving;
    }

    // One connection, one line, then the end of the stream.
    private async Task<byte[]> ReadLineAsync()
    {
        var enclave = VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Simulated, RunDirectory = _run.Path, LocalCid = EnclaveCid });
        await using var stream = await enclave.ConnectAsync(new VsockEndpoint(VsockEndpoint.HostCid, VsockEndpoint.KmsCredentialsPort));
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        var bytes = all.ToArray();
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.Equal(1, bytes.Count(b => b == (byte)'\n'));
        return bytes[..^1];
    }
}
