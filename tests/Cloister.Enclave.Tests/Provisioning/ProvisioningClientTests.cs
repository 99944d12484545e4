using System.Collections.Concurrent;
using System.Security.Cryptography;
using Cloister.Enclave.Provisioning;
using Cloister.Encryption.Ciphertexts;
using Cloister.Enclave.Tests.Sandbox;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Nsm;
using Cloister.Runtime.Provisioning;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Provisioning;

/// <summary>The enclave's provisioning client against a real HTTPS provisioner and the software NSM.</summary>
public sealed class ProvisioningClientTests : IAsyncLifetime, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("cl-prov-").FullName;
    private readonly ConcurrentQueue<string> _tokens = new();
    private readonly ConcurrentQueue<string> _log = new();
    private SoftwareNsmSocket _nsm = null!;
    private NsmSocketDevice _device = null!;
    private FakeEnclaveProvisioner _provisioner = null!;
    private int _connections;

    public async Task InitializeAsync()
    {
        _nsm = new SoftwareNsmSocket(Path.Combine(_directory, "nsm.sock"));
        _device = await _nsm.ConnectAsync();
        _provisioner = new FakeEnclaveProvisioner();
    }

    public async Task DisposeAsync()
    {
        await _provisioner.DisposeAsync();
        _device.Dispose();
        await _nsm.DisposeAsync();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_answer_is_opened_with_the_ephemeral_key_the_document_carries()
    {
        var answer = await Client().ProvisionAsync(Log, CancellationToken.None);

        Assert.Equal(FakeEnclaveProvisioner.Deployment, answer.Deployment);
        Assert.Equal(("API_KEY", "tops3cret", 3), (answer.Secrets[0].Name, answer.Secrets[0].Value, answer.Secrets[0].Version));
        Assert.Equal(_provisioner.Intermediate.ExportCertificatePem(), answer.CertificateAuthority.Certificate);
        var (request, document) = Assert.Single(_provisioner.Received);
        Assert.Equal(Assert.Single(_tokens), request.Token);
        Assert.Equal(FakeEnclaveProvisioner.Deployment, request.Deployment);
        Assert.Equal(ProvisioningToken.HashOf(request.Token), document.UserData);
        Assert.Equal(32, document.Nonce!.Length);
        using var key = ECDiffieHellman.Create();
        key.ImportSubjectPublicKeyInfo(document.PublicKey, out _);
        Assert.Equal(384, key.KeySize);
        Assert.Empty(_log);
    }

    [Fact]
    public async Task With_api_crypto_the_answer_becomes_a_working_key_ring_and_the_raw_keys_are_erased()
    {
        var answer = await Client().ProvisionAsync(Log, CancellationToken.None);

        using var ring = ProvisionedKeys.Import(answer, crypto: true);

        Assert.NotNull(ring);
        Assert.Equal((FakeEnclaveProvisioner.Deployment, _provisioner.KeyId, 1), (ring.Deployment, ring.KeyId, ring.CurrentVersion));
        Assert.Equal(_provisioner.PublicKey.Fingerprint, ring.CurrentPublicKey.Fingerprint);
        using var outside = _provisioner.PublicKey.CreateEncryptor();
        using var decryptor = ring.CreateDecryptor();
        Assert.Equal("4111"u8.ToArray(), decryptor.DecryptString(outside.EncryptToString("4111"u8, PlaintextKind.String), out _));
        using var inside = ring.CreateEncryptor();
        Assert.Equal("made inside"u8.ToArray(), decryptor.Decrypt(inside.Encrypt("made inside"u8, PlaintextKind.Bytes), out _));
        var raw = Assert.Single(answer.Keys.Versions);
        Assert.All(raw.PrivateKey, b => Assert.Equal(0, b));
        Assert.All(raw.DataKey, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Without_api_crypto_no_key_is_kept()
    {
        var answer = await Client().ProvisionAsync(Log, CancellationToken.None);

        Assert.Null(ProvisionedKeys.Import(answer, crypto: false));
        var raw = Assert.Single(answer.Keys.Versions);
        Assert.All(raw.PrivateKey, b => Assert.Equal(0, b));
        Assert.All(raw.DataKey, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData("no versions", "the provisioner's answer has no encryption keys, and api.crypto needs them")]
    [InlineData("bad key id", "the provisioner's encryption keys are unusable: a key id is 16 hex digits, not 'payments'")]
    [InlineData("short data key", "the provisioner's encryption keys are unusable: key version 1: the data key is 16 bytes, not 32")]
    [InlineData("bad private key", "the provisioner's encryption keys are unusable: key version 1: the private key does not parse as PKCS#8")]
    [InlineData("version 0", "the provisioner's encryption keys are unusable: key version 0 is below 1")]
    [InlineData("current missing", "the provisioner's encryption keys are unusable: the current key version 2 is not among the keys given (Parameter 'currentVersion')")]
    [InlineData("version twice", "the provisioner's encryption keys are unusable: key version 1 is given twice (Parameter 'keys')")]
    public async Task With_api_crypto_an_answer_without_usable_keys_is_a_refusal(string fault, string reason)
    {
        var granted = _provisioner.Granted.Keys;
        var key = granted.Versions[0];
        var keys = fault switch
        {
            "no versions" => new ProvisionedKeyRing { KeyId = granted.KeyId, CurrentVersion = 1, Versions = [] },
            "bad key id" => new ProvisionedKeyRing { KeyId = "payments", CurrentVersion = 1, Versions = granted.Versions },
            "short data key" => new ProvisionedKeyRing { KeyId = granted.KeyId, CurrentVersion = 1, Versions = [new ProvisionedKey { Version = 1, PrivateKey = key.PrivateKey, DataKey = new byte[16] }] },
            "bad private key" => new ProvisionedKeyRing { KeyId = granted.KeyId, CurrentVersion = 1, Versions = [new ProvisionedKey { Version = 1, PrivateKey = [0x30, 0x03, 0x02, 0x01, 0x00], DataKey = key.DataKey }] },
            "version 0" => new ProvisionedKeyRing { KeyId = granted.KeyId, CurrentVersion = 0, Versions = [new ProvisionedKey { Version = 0, PrivateKey = key.PrivateKey, DataKey = key.DataKey }] },
            "current missing" => new ProvisionedKeyRing { KeyId = granted.KeyId, CurrentVersion = 2, Versions = granted.Versions },
            "version twice" => new ProvisionedKeyRing { KeyId = granted.KeyId, CurrentVersion = 1, Versions = [key, key] },
            _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, null),
        };
        _provisioner.Answer = (request, document) => FakeEnclaveProvisioner.Seal(request, document.PublicKey!, new ProvisioningAnswer
        {
            Deployment = FakeEnclaveProvisioner.Deployment,
            CertificateAuthority = _provisioner.Granted.CertificateAuthority,
            Secrets = _provisioner.Granted.Secrets,
            Keys = keys,
        });
        var answer = await Client().ProvisionAsync(Log, CancellationToken.None);

        var ex = Assert.Throws<ProvisioningRefusedException>(() => ProvisionedKeys.Import(answer, crypto: true));

        Assert.Equal(reason, ex.Message);
        Assert.Null(ProvisionedKeys.Import(answer, crypto: false));
    }

    [Fact]
    public async Task A_provisioner_with_another_key_is_refused_and_never_gets_the_document()
    {
        await using var impostor = new FakeEnclaveProvisioner(ProvisioningPki.ServerCertificate());

        var ex = await Assert.ThrowsAsync<ProvisioningRefusedException>(() => Client(connect: impostor.ConnectAsync).ProvisionAsync(Log, CancellationToken.None));

        Assert.Equal("the provisioner's key does not match provisioning.pinned_sha256", ex.Message);
        // Had the client sent its request, the server would have recorded it before answering, and the client waited for that answer.
        Assert.Empty(impostor.Server.Requests);
        Assert.Single(_tokens);
    }

    [Fact]
    public async Task A_refusal_is_final()
    {
        _provisioner.Answer = (_, _) => FakeEnclaveProvisioner.Error(403, ProvisioningProtocol.Refused);

        var ex = await Assert.ThrowsAsync<ProvisioningRefusedException>(() => Client().ProvisionAsync(Log, CancellationToken.None));

        Assert.Equal("the provisioner answered 403: refused", ex.Message);
        Assert.Single(_provisioner.Received);
        Assert.Single(_tokens);
    }

    [Fact]
    public async Task A_transport_error_is_retried_with_a_new_token()
    {
        var granted = _provisioner.Answer;
        var attempts = 0;
        _provisioner.Answer = (request, document) => Interlocked.Increment(ref attempts) == 1
            ? FakeEnclaveProvisioner.Error(503, "database unavailable")
            : granted(request, document);

        var answer = await Client().ProvisionAsync(Log, CancellationToken.None);

        Assert.Equal(FakeEnclaveProvisioner.Deployment, answer.Deployment);
        var requests = _provisioner.Received.Select(received => received.Request.Token).ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal<string>(_tokens.ToArray(), requests);
        Assert.NotEqual(requests[0], requests[1]);
        Assert.Equal("provisioning: attempt 1 failed: the provisioner answered 503; retrying in 0.01 s with a new token", Assert.Single(_log));
    }

    [Fact]
    public async Task A_provisioner_that_stays_unreachable_fails_within_the_bound()
    {
        ValueTask<Stream> Unreachable(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _connections);
            throw new IOException("the host's relay refused the connection");
        }

        var ex = await Assert.ThrowsAsync<ProvisioningRefusedException>(
            () => Client(connect: Unreachable, retryBound: TimeSpan.FromMilliseconds(200)).ProvisionAsync(Log, CancellationToken.None));

        Assert.StartsWith("no answer from the provisioner within 0.2 s (", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the last: HTTPS to the provisioner through the host: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the host's relay refused the connection", ex.Message, StringComparison.Ordinal);
        Assert.True(Volatile.Read(ref _connections) >= 2, ex.Message);
        Assert.Equal(Volatile.Read(ref _connections), _tokens.Count);
    }

    [Fact]
    public async Task An_answer_for_another_deployment_is_refused()
    {
        _provisioner.Answer = (request, document) => FakeEnclaveProvisioner.Seal(request, document.PublicKey!, new ProvisioningAnswer
        {
            Deployment = "billing",
            CertificateAuthority = new ProvisionedCertificateAuthority { Certificate = "", PrivateKey = "", Chain = [] },
            Secrets = [],
            Keys = _provisioner.Granted.Keys,
        });

        var ex = await Assert.ThrowsAsync<ProvisioningRefusedException>(() => Client().ProvisionAsync(Log, CancellationToken.None));

        Assert.Equal("the provisioner's answer is for deployment 'billing', not 'payments'", ex.Message);
    }

    [Fact]
    public async Task An_answer_sealed_to_another_key_is_refused()
    {
        using var other = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        _provisioner.Answer = (request, _) => FakeEnclaveProvisioner.Seal(request, other.ExportSubjectPublicKeyInfo(), _provisioner.Granted);

        var ex = await Assert.ThrowsAsync<ProvisioningRefusedException>(() => Client().ProvisionAsync(Log, CancellationToken.None));

        Assert.StartsWith("the provisioner's answer does not open with this enclave's key: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_token_from_the_host_is_a_transport_error()
    {
        var first = true;
        Task<string> Token(CancellationToken cancellationToken)
        {
            if (!first)
            {
                return NextTokenAsync(cancellationToken);
            }

            first = false;
            return Task.FromException<string>(new ProvisioningTransportException("the host has no token: the provisioner did not answer within 15 s"));
        }

        var answer = await Client(getToken: Token).ProvisionAsync(Log, CancellationToken.None);

        Assert.Equal(FakeEnclaveProvisioner.Deployment, answer.Deployment);
        Assert.Equal("provisioning: attempt 1 failed: the host has no token: the provisioner did not answer within 15 s; retrying in 0.01 s with a new token", Assert.Single(_log));
    }

    [Theory]
    [InlineData("{\"token\":\"v1.abc\",\"expires_at\":\"2026-12-07T12:05:00+00:00\"}", null)]
    [InlineData("{\"error\":\"host 'h' is revoked\"}", "the host has no token: host 'h' is revoked")]
    [InlineData("{\"token\":\"\",\"expires_at\":\"2026-12-07T12:05:00+00:00\"}", "the host's token is empty or too long")]
    [InlineData("{\"token\":\"v1.abc\"}", "the host's token line is not a token: ")]
    [InlineData("not json", "the host's token line is not a token: ")]
    public void The_token_line_is_a_token_or_an_error(string line, string? failure)
    {
        if (failure is null)
        {
            Assert.Equal("v1.abc", HostTokenSource.Parse(System.Text.Encoding.UTF8.GetBytes(line)));
            return;
        }

        var ex = Assert.Throws<ProvisioningTransportException>(() => HostTokenSource.Parse(System.Text.Encoding.UTF8.GetBytes(line)));
        Assert.StartsWith(failure, ex.Message, StringComparison.Ordinal);
    }

    private ProvisioningClient Client(
        Func<CancellationToken, ValueTask<Stream>>? connect = null, TimeSpan? retryBound = null, Func<CancellationToken, Task<string>>? getToken = null) => new(
        new ProvisioningSettings { Url = new Uri("https://localhost/"), PinnedSha256 = ProvisionerPin.Of(_provisioner.TlsCertificate), TokenAudience = FakeEnclaveProvisioner.Deployment },
        _device,
        getToken ?? NextTokenAsync,
        connect ?? _provisioner.ConnectAsync,
        new ProvisioningClientOptions { RetryBound = retryBound ?? TimeSpan.FromSeconds(30), FirstRetryDelay = TimeSpan.FromMilliseconds(10), MaxRetryDelay = TimeSpan.FromMilliseconds(40) });

    // Each token is new, as the host's token service makes them.
    private Task<string> NextTokenAsync(CancellationToken cancellationToken)
    {
        var token = "v1." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _tokens.Enqueue(token);
        return Task.FromResult(token);
    }

    private Task Log(string line)
    {
        _log.Enqueue(line);
        return Task.CompletedTask;
    }
}
