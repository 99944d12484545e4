using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Cloister.Encryption.Ciphertexts;
using Cloister.Encryption.Keys;
using Cloister.Provisioner.Api;
using Cloister.Runtime.Provisioning;

namespace Cloister.Provisioner.Tests.Provisioning;

/// <summary>
/// A deployment's encryption keys through the real provisioner: made with the deployment (or at first need for an
/// older one), rotated, shown only as public halves, released whole only inside the sealed provisioning answer.
/// </summary>
public sealed class DeploymentKeysTests : IAsyncLifetime
{
    private ProvisionerHarness _harness = null!;
    private HttpClient _host = null!;
    private Dictionary<int, byte[]> _pcrs = null!;

    private string DatabasePath => Path.Combine(_harness.ProvisionerDirectory, "provisioner.db");

    public async Task InitializeAsync()
    {
        _harness = await ProvisionerHarness.StartAsync();
        _host = await _harness.AddHostAsync("host-1");
        _pcrs = ProvisionerHarness.RandomPcrs();
        await _harness.DeployAsync("web", _pcrs);
    }

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_new_deployment_has_version_1_and_the_view_shows_public_halves()
    {
        var keys = await KeysAsync("web");

        Assert.Equal("web", keys.Deployment);
        Assert.Matches("^[0-9a-f]{16}$", keys.KeyId);
        Assert.Equal(1, keys.CurrentVersion);
        var version = Assert.Single(keys.Versions);
        Assert.Equal(1, version.Version);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(version.PublicKey)), version.Fingerprint);
        Assert.Equal(version.Fingerprint, new DeploymentPublicKey("web", DeploymentKeyId.Parse(keys.KeyId), 1, version.PublicKey).Fingerprint);
        Assert.Equal(keys.KeyId, (await KeysAsync("web")).KeyId);

        var created = Assert.Single(await _harness.AuditAsync(), e => e.Action == "keys.create");
        Assert.Equal(("operator:operator", "web", "done"), (created.Actor, created.Deployment, created.Outcome));
        Assert.Contains($"version 1 key id {keys.KeyId} fingerprint {version.Fingerprint}", created.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotation_adds_the_next_version_keeps_the_key_id_and_is_audited()
    {
        var before = await KeysAsync("web");

        var second = await RotateAsync("web");
        var third = await RotateAsync("web");

        Assert.Equal((2, 3), (second.CurrentVersion, third.CurrentVersion));
        Assert.Equal([1, 2, 3], third.Versions.Select(v => v.Version));
        Assert.All([second, third], view => Assert.Equal(before.KeyId, view.KeyId));
        Assert.Equal(3, third.Versions.Select(v => v.Fingerprint).Distinct().Count());
        Assert.Equal(before.Versions[0].Fingerprint, third.Versions[0].Fingerprint);
        Assert.Equal(
            [$"version 2 key id {before.KeyId} fingerprint {third.Versions[1].Fingerprint}", $"version 3 key id {before.KeyId} fingerprint {third.Versions[2].Fingerprint}"],
            (await _harness.AuditAsync()).Where(e => e.Action == "keys.rotate").Select(e => e.Reason));
    }

    [Fact]
    public async Task Concurrent_rotations_each_get_their_own_version()
    {
        var views = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => RotateAsync("web"))));

        Assert.Equal(Enumerable.Range(2, 8), views.Select(v => v.CurrentVersion).Order());
        Assert.Equal(Enumerable.Range(1, 9), (await KeysAsync("web")).Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task Keys_of_an_unknown_deployment_are_404_a_bad_name_400_and_a_host_403()
    {
        foreach (var response in new[]
        {
            await _harness.Operator.GetAsync("/v1/deployments/absent/keys"),
            await _harness.Operator.PostAsync("/v1/deployments/absent/keys/rotate", content: null),
        })
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                Assert.Equal("there is no deployment 'absent'", await ProvisionerHarness.ErrorOf(response));
            }
        }

        using var badName = await _harness.Operator.GetAsync("/v1/deployments/-bad/keys");
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        using var asHost = await _host.PostAsync("/v1/deployments/web/keys/rotate", content: null);
        Assert.Equal(HttpStatusCode.Forbidden, asHost.StatusCode);
        Assert.Equal(1, (await KeysAsync("web")).CurrentVersion);
    }

    [Fact]
    public async Task A_deployment_made_before_keys_existed_gets_one_ring_at_its_first_need()
    {
        await _harness.DeployAsync("old", ProvisionerHarness.RandomPcrs());
        await ForgetKeysAsync("old");
        var marker = (await _harness.AuditAsync())[^1].Id;

        var views = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => KeysAsync("old"))));

        Assert.Single(views.Select(v => v.KeyId).Distinct());
        Assert.All(views, v => Assert.Equal(1, Assert.Single(v.Versions).Version));
        var created = Assert.Single(await _harness.AuditAsync(), e => e.Id > marker);
        Assert.Equal(("keys.create", "old"), (created.Action, created.Deployment));
        Assert.StartsWith($"version 1 key id {views[0].KeyId} ", created.Reason, StringComparison.Ordinal);

        await _harness.DeployAsync("older", ProvisionerHarness.RandomPcrs());
        await ForgetKeysAsync("older");
        var rotated = await RotateAsync("older");
        Assert.Equal([1, 2], rotated.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task The_answer_carries_every_version_and_opens_to_a_ring_that_decrypts_old_and_new_ciphertexts()
    {
        var first = PublicKey(await KeysAsync("web"));
        var before = Encrypt(first, "encrypted before the rotation");
        var rotated = await RotateAsync("web");
        var second = PublicKey(rotated);
        var after = Encrypt(second, "encrypted after the rotation");

        var answer = await ProvisionAsync("web");

        Assert.Equal(rotated.KeyId, answer.Keys.KeyId);
        Assert.Equal(2, answer.Keys.CurrentVersion);
        Assert.Equal([1, 2], answer.Keys.Versions.Select(v => v.Version));
        using var ring = Ring("web", answer.Keys);
        Assert.Equal(second.Fingerprint, ring.CurrentPublicKey.Fingerprint);
        using var decryptor = ring.CreateDecryptor();
        Assert.Equal("encrypted before the rotation", Encoding.UTF8.GetString(decryptor.Decrypt(before, out _)));
        Assert.Equal("encrypted after the rotation", Encoding.UTF8.GetString(decryptor.Decrypt(after, out _)));
        using var encryptor = ring.CreateEncryptor();
        Assert.Equal("made inside", Encoding.UTF8.GetString(decryptor.Decrypt(encryptor.Encrypt("made inside"u8, PlaintextKind.String), out _)));
        Assert.Contains("key versions 1-2", (await _harness.AuditAsync())[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_operator_answer_audit_entry_or_database_byte_holds_a_private_or_data_key()
    {
        await RotateAsync("web");
        var texts = new List<string>();
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
        {
            () => _harness.Operator.GetAsync("/v1/deployments/web/keys"),
            () => _harness.Operator.PostAsync("/v1/deployments/web/keys/rotate", content: null),
            () => _harness.Operator.GetAsync("/v1/deployments/web"),
            () => _harness.Operator.GetAsync("/v1/audit?limit=1000"),
        })
        {
            using var response = await request();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            texts.Add(await response.Content.ReadAsStringAsync());
        }

        var answer = await ProvisionAsync("web");
        Assert.Equal(3, answer.Keys.Versions.Count);
        var database = (byte[])[.. await File.ReadAllBytesAsync(DatabasePath), .. File.Exists(DatabasePath + "-wal") ? await File.ReadAllBytesAsync(DatabasePath + "-wal") : []];
        foreach (var key in answer.Keys.Versions)
        {
            foreach (var secret in new[] { key.PrivateKey, key.DataKey })
            {
                Assert.All(texts, text =>
                {
                    Assert.DoesNotContain(Convert.ToBase64String(secret), text, StringComparison.Ordinal);
                    Assert.DoesNotContain(Convert.ToHexString(secret), text, StringComparison.OrdinalIgnoreCase);
                });
                Assert.Equal(-1, database.AsSpan().IndexOf(secret));
            }

            // The check can fail: the public key is in both the answers and the database.
            using var pair = DeploymentKey.Import(key.Version, key.PrivateKey, key.DataKey);
            Assert.Contains(Convert.ToBase64String(pair.PublicKey), texts[1], StringComparison.Ordinal);
            Assert.NotEqual(-1, database.AsSpan().IndexOf(pair.PublicKey));
        }
    }

    [Fact]
    public async Task A_deployment_made_before_keys_existed_gets_its_ring_at_its_first_provisioning()
    {
        await ForgetKeysAsync("web");

        var answer = await ProvisionAsync("web");

        Assert.Equal(1, Assert.Single(answer.Keys.Versions).Version);
        Assert.Equal(answer.Keys.KeyId, (await KeysAsync("web")).KeyId);
        var created = Assert.Single(await _harness.AuditAsync(), e => e.Action == "keys.create" && e.Actor == "enclave");
        Assert.Equal(("web", "host-1"), (created.Deployment, created.Host));
    }

    private async Task<DeploymentKeysView> KeysAsync(string deployment)
    {
        using var response = await _harness.Operator.GetAsync($"/v1/deployments/{deployment}/keys");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync(OperatorJson.Default.DeploymentKeysView))!;
    }

    private async Task<DeploymentKeysView> RotateAsync(string deployment)
    {
        using var response = await _harness.Operator.PostAsync($"/v1/deployments/{deployment}/keys/rotate", content: null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync(OperatorJson.Default.DeploymentKeysView))!;
    }

    /// <summary>Puts a deployment in the state of one made before migration 4: no key rows.</summary>
    private async Task ForgetKeysAsync(string deployment)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM deployment_keys WHERE deployment = $d";
        command.Parameters.AddWithValue("$d", deployment);
        Assert.True(await command.ExecuteNonQueryAsync() > 0);
    }

    private async Task<ProvisioningAnswer> ProvisionAsync(string deployment)
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);
        var token = await ProvisionerHarness.TokenAsync(_host, deployment);
        var document = ProvisionerHarness.Document(_harness.Nsm(_pcrs), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo());
        using var response = await ProvisionerHarness.ProvisionAsync(_harness.Client(), deployment, token, document);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sealedAnswer = (await response.Content.ReadFromJsonAsync(ProvisioningJson.Default.ProvisionResponse))!.Answer;
        return JsonSerializer.Deserialize(ProvisioningEnvelope.Open(sealedAnswer, key, ProvisioningToken.HashOf(token)), ProvisioningJson.Default.ProvisioningAnswer)!;
    }

    private static DeploymentPublicKey PublicKey(DeploymentKeysView view)
    {
        var current = view.Versions.Single(v => v.Version == view.CurrentVersion);
        return new DeploymentPublicKey(view.Deployment, DeploymentKeyId.Parse(view.KeyId), current.Version, current.PublicKey);
    }

    private static byte[] Encrypt(DeploymentPublicKey key, string text)
    {
        using var encryptor = key.CreateEncryptor();
        return encryptor.Encrypt(Encoding.UTF8.GetBytes(text), PlaintextKind.String);
    }

    private static DeploymentKeyRing Ring(string deployment, ProvisionedKeyRing keys) =>
        new(deployment, DeploymentKeyId.Parse(keys.KeyId), keys.Versions.Select(v => DeploymentKey.Import(v.Version, v.PrivateKey, v.DataKey)).ToList(), keys.CurrentVersion);
}
