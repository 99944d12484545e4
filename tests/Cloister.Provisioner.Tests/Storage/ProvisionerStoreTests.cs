using System.Data.Common;
using System.Security.Cryptography;
using Cloister.Provisioner.AtRest;
using Cloister.Provisioner.Provisioning;
using Cloister.Provisioner.Storage;
using Cloister.Testing;

namespace Cloister.Provisioner.Tests.Storage;

/// <summary>The behaviour every store must have; each backend runs all of it.</summary>
public abstract class ProvisionerStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private readonly List<IProvisionerStore> _stores = [];

    /// <summary>Opens (and migrates) a store on this test's database; each call is a separate store, as another process would have.</summary>
    protected abstract Task<IProvisionerStore> OpenStoreAsync();

    /// <summary>Runs a statement on the database outside any store.</summary>
    protected abstract Task ExecuteRawAsync(string sql);

    /// <summary>Reads one number from the database outside any store.</summary>
    protected abstract Task<long> ScalarRawAsync(string sql);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Migrations_run_once_and_again_change_nothing()
    {
        var store = await OpenAsync();
        Assert.Equal(4, await store.MigrateAsync());
        await OpenAsync();
        Assert.Equal(4, await store.MigrateAsync());
        Assert.Equal(4, await ScalarRawAsync("SELECT COUNT(*) FROM schema_version"));
        Assert.Equal(4, await ScalarRawAsync("SELECT MAX(version) FROM schema_version"));
    }

    [Fact]
    public async Task A_deployment_round_trips_with_its_pcr_sets()
    {
        var store = await OpenAsync();
        Assert.Null(await store.GetDeploymentAsync("web"));
        var first = Pcrs(1);
        var second = Pcrs(2);
        await store.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com", "b.example.com"], true, [first, second], "CERT", [1, 2, 3]));

        var read = await store.GetDeploymentAsync("web");
        Assert.NotNull(read);
        Assert.Equal(["a.example.com", "b.example.com"], read.Hostnames);
        Assert.True(read.AllowDebug);
        Assert.Equal(2, read.PcrSets.Count);
        Assert.Equal(first[0], read.PcrSets[0][0]);
        Assert.Equal(second[2], read.PcrSets[1][2]);
        Assert.Equal("CERT", read.CaCertificatePem);
        Assert.Equal([1, 2, 3], read.SealedCaKey);

        await store.PutDeploymentAsync(read with { PcrSets = [second], AllowDebug = false });
        var replaced = await store.GetDeploymentAsync("web");
        Assert.Equal(second[1], Assert.Single(replaced!.PcrSets)[1]);
        Assert.False(replaced.AllowDebug);
    }

    [Fact]
    public async Task The_ca_is_replaced_only_while_it_is_still_the_one_read()
    {
        var store = await OpenAsync();
        await store.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "OLD", [1]));
        Assert.True(await store.ReplaceCertificateAuthorityAsync("web", "OLD", "NEW", [2]));
        Assert.False(await store.ReplaceCertificateAuthorityAsync("web", "OLD", "NEWER", [3]));
        Assert.Equal("NEW", (await store.GetDeploymentAsync("web"))!.CaCertificatePem);
    }

    [Fact]
    public async Task Setting_a_secret_makes_a_new_version_bound_to_it_and_rm_removes_it()
    {
        var store = await OpenAsync();
        using var key = FileStorageKey.Create(Path.Combine(Directory.CreateTempSubdirectory("cl-key-").FullName, "storage.key"));
        await store.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));

        for (var expected = 1; expected <= 3; expected++)
        {
            var value = $"value {expected}";
            Assert.Equal(expected, await store.SetSecretAsync("web", "API_KEY", v => key.Seal(System.Text.Encoding.UTF8.GetBytes(value), StorageBinding.Secret("web", "API_KEY", v)), s_now));
        }

        var listed = Assert.Single(await store.ListSecretsAsync("web"));
        Assert.Equal(("API_KEY", 3, s_now), (listed.Name, listed.Version, listed.UpdatedAt));
        var stored = Assert.Single(await store.GetSecretsAsync("web"));
        Assert.Equal("value 3"u8.ToArray(), key.Open(stored.SealedValue, StorageBinding.Secret("web", "API_KEY", 3)));
        Assert.ThrowsAny<CryptographicException>(() => key.Open(stored.SealedValue, StorageBinding.Secret("web", "API_KEY", 2)));

        Assert.True(await store.RemoveSecretAsync("web", "API_KEY"));
        Assert.False(await store.RemoveSecretAsync("web", "API_KEY"));
        Assert.Empty(await store.ListSecretsAsync("web"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SetSecretAsync("absent", "API_KEY", _ => [1], s_now));
    }

    [Fact]
    public async Task Concurrent_writers_of_one_secret_each_get_their_own_version()
    {
        var one = await OpenAsync();
        var two = await OpenAsync();
        await one.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));

        var versions = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? one : two).SetSecretAsync("web", "COUNTER", v => BitConverter.GetBytes(v), s_now))));

        Assert.Equal(Enumerable.Range(1, 40), versions.Order());
        var stored = Assert.Single(await one.GetSecretsAsync("web"));
        Assert.Equal(40, stored.Version);
        Assert.Equal(BitConverter.GetBytes(40), stored.SealedValue);
    }

    [Fact]
    public async Task Key_versions_are_added_only_as_the_next_one_with_the_ring_key_id()
    {
        var store = await OpenAsync();
        await store.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));
        Assert.Empty(await store.GetKeyVersionsAsync("web"));

        Assert.False(await store.AddKeyVersionAsync(KeyVersion("web", "00000000000000aa", 2)));
        Assert.True(await store.AddKeyVersionAsync(KeyVersion("web", "00000000000000aa", 1)));
        Assert.False(await store.AddKeyVersionAsync(KeyVersion("web", "00000000000000aa", 1)));
        Assert.False(await store.AddKeyVersionAsync(KeyVersion("web", "00000000000000bb", 2)));
        Assert.False(await store.AddKeyVersionAsync(KeyVersion("web", "00000000000000aa", 3)));
        Assert.True(await store.AddKeyVersionAsync(KeyVersion("web", "00000000000000aa", 2)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.AddKeyVersionAsync(KeyVersion("absent", "00000000000000aa", 1)));

        var stored = await store.GetKeyVersionsAsync("web");
        Assert.Equal([1, 2], stored.Select(k => k.Version));
        var expected = KeyVersion("web", "00000000000000aa", 2);
        var second = stored[1];
        Assert.Equal(("web", "00000000000000aa", s_now), (second.Deployment, second.KeyId, second.CreatedAt));
        Assert.Equal(expected.PublicKey, second.PublicKey);
        Assert.Equal(expected.SealedPrivateKey, second.SealedPrivateKey);
        Assert.Equal(expected.SealedDataKey, second.SealedDataKey);
        Assert.Empty(await store.GetKeyVersionsAsync("absent"));
    }

    [Fact]
    public async Task Writers_racing_for_one_key_version_through_two_stores_add_it_once()
    {
        var one = await OpenAsync();
        var two = await OpenAsync();
        await one.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));

        // Eight contenders per version, half through each store: for version 1 they are eight rings (key ids), one of which wins.
        Task<bool[]> RaceAsync(int version, Func<int, string> keyId) => Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            (i % 2 == 0 ? one : two).AddKeyVersionAsync(KeyVersion("web", keyId(i), version, (byte)i)))));

        Assert.Equal(1, (await RaceAsync(1, i => $"{i:x16}")).Count(added => added));
        var ring = Assert.Single(await one.GetKeyVersionsAsync("web")).KeyId;
        for (var version = 2; version <= 10; version++)
        {
            Assert.Equal(1, (await RaceAsync(version, _ => ring)).Count(added => added));
        }

        var stored = await two.GetKeyVersionsAsync("web");
        Assert.Equal(Enumerable.Range(1, 10), stored.Select(k => k.Version));
        Assert.All(stored, k => Assert.Equal(ring, k.KeyId));
    }

    [Fact]
    public async Task Concurrent_rotations_through_two_stores_get_distinct_consecutive_versions()
    {
        var one = await OpenAsync();
        var two = await OpenAsync();
        using var key = StorageKey();
        await one.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));
        var services = new[] { new DeploymentKeyService(key, one, TimeProvider.System), new DeploymentKeyService(key, two, TimeProvider.System) };

        // Every deployment's first need, racing: one ring is made and everyone sees it.
        var first = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => services[i % 2].EnsureAsync("web", CancellationToken.None))));
        Assert.Equal(1, first.Count(e => e.Created));
        Assert.Single(first.Select(e => Assert.Single(e.Versions).KeyId).Distinct());

        var rotated = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => services[i % 2].RotateAsync("web", CancellationToken.None))));

        Assert.Equal(Enumerable.Range(2, 20), rotated.Order());
        var stored = await one.GetKeyVersionsAsync("web");
        Assert.Equal(Enumerable.Range(1, 21), stored.Select(k => k.Version));
        Assert.Single(stored.Select(k => k.KeyId).Distinct());
        Assert.Equal(21, stored.Select(k => Convert.ToHexString(k.PublicKey)).Distinct().Count());
        var ring = services[0].Unseal(stored);
        Assert.Equal(21, ring.Versions.Select(v => Convert.ToHexString(v.DataKey)).Distinct().Count());
    }

    [Fact]
    public async Task A_deployment_from_a_version_3_database_gets_its_ring_at_first_need_after_the_upgrade()
    {
        var old = await OpenAsync();
        await old.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));
        // The database as schema version 3 left it: no deployment_keys table, version 4 not applied.
        await ExecuteRawAsync("DROP TABLE deployment_keys");
        await ExecuteRawAsync("DELETE FROM schema_version WHERE version = 4");

        var upgraded = await OpenAsync();
        Assert.Equal(4, await ScalarRawAsync("SELECT MAX(version) FROM schema_version"));
        Assert.Empty(await upgraded.GetKeyVersionsAsync("web"));
        using var key = StorageKey();
        var (versions, created) = await new DeploymentKeyService(key, upgraded, TimeProvider.System).EnsureAsync("web", CancellationToken.None);

        Assert.True(created);
        Assert.Equal(1, Assert.Single(versions).Version);
        Assert.Equal("CERT", (await upgraded.GetDeploymentAsync("web"))!.CaCertificatePem);
    }

    [Fact]
    public async Task A_key_version_opens_only_beside_its_public_key_and_key_id()
    {
        var store = await OpenAsync();
        using var key = StorageKey();
        await store.PutDeploymentAsync(new DeploymentRecord("web", ["a.example.com"], false, [], "CERT", [1]));
        var service = new DeploymentKeyService(key, store, TimeProvider.System);
        var (versions, created) = await service.EnsureAsync("web", CancellationToken.None);
        Assert.True(created);
        Assert.Equal(1, service.View("web", versions).CurrentVersion);

        // A public key swapped in the database (so outside encryptors would use someone else's) is never shown.
        using var other = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        Assert.ThrowsAny<CryptographicException>(() => service.View("web", [versions[0] with { PublicKey = other.ExportSubjectPublicKeyInfo() }]));
        Assert.ThrowsAny<CryptographicException>(() => service.Unseal([versions[0] with { KeyId = "00000000000000ff" }]));
        Assert.ThrowsAny<CryptographicException>(() => service.Unseal([versions[0] with { Deployment = "api" }]));
    }

    [Fact]
    public async Task Hosts_are_added_once_and_revoked()
    {
        var store = await OpenAsync();
        var host = new HostRecord("host-1", "0a", "ff", s_now, null);
        Assert.True(await store.AddHostAsync(host));
        Assert.False(await store.AddHostAsync(host with { CertificateThumbprint = "ee" }));
        Assert.Equal(host, await store.GetHostAsync("host-1"));

        Assert.True(await store.RevokeHostAsync("host-1", s_now.AddMinutes(1)));
        Assert.True(await store.RevokeHostAsync("host-1", s_now.AddMinutes(2)));
        Assert.Equal(s_now.AddMinutes(1), (await store.GetHostAsync("host-1"))!.RevokedAt);
        Assert.False(await store.RevokeHostAsync("absent", s_now));
        Assert.Null(await store.GetHostAsync("absent"));
    }

    [Fact]
    public async Task A_token_is_redeemed_once_and_an_unknown_one_never()
    {
        var store = await OpenAsync();
        await store.AddTokenAsync(new TokenRecord("00112233445566778899aabbccddeeff", "web", "host-1", s_now, s_now.AddMinutes(5)));
        Assert.True(await store.RedeemTokenAsync("00112233445566778899aabbccddeeff", s_now));
        Assert.False(await store.RedeemTokenAsync("00112233445566778899aabbccddeeff", s_now));
        Assert.False(await store.RedeemTokenAsync("ffeeddccbbaa99887766554433221100", s_now));
    }

    [Fact]
    public async Task Issuing_a_token_forgets_tokens_expired_over_an_hour_before()
    {
        var store = await OpenAsync();
        await store.AddTokenAsync(new TokenRecord("old0000000000000000000000000000a", "web", "host-1", s_now.AddHours(-2), s_now.AddHours(-2).AddMinutes(5)));
        await store.AddTokenAsync(new TokenRecord("recent000000000000000000000000aa", "web", "host-1", s_now.AddMinutes(-30), s_now.AddMinutes(-25)));
        await store.AddTokenAsync(new TokenRecord("new00000000000000000000000000000", "web", "host-1", s_now, s_now.AddMinutes(5)));

        Assert.Equal(2, await ScalarRawAsync("SELECT COUNT(*) FROM tokens"));
        Assert.False(await store.RedeemTokenAsync("old0000000000000000000000000000a", s_now));
        Assert.True(await store.RedeemTokenAsync("recent000000000000000000000000aa", s_now));
    }

    [Fact]
    public async Task Two_stores_racing_200_redemptions_redeem_each_token_exactly_once()
    {
        var one = await OpenAsync();
        var two = await OpenAsync();
        var ids = Enumerable.Range(0, 200).Select(_ => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))).ToArray();
        foreach (var id in ids)
        {
            await one.AddTokenAsync(new TokenRecord(id, "web", "host-1", s_now, s_now.AddMinutes(5)));
        }

        // Every token is redeemed twice through each store at once: four contenders, one winner.
        var attempts = ids.SelectMany(id => new[] { (one, id), (two, id), (one, id), (two, id) })
            .Select(a => Task.Run(async () => (a.id, Won: await a.Item1.RedeemTokenAsync(a.id, s_now))));
        var results = await Task.WhenAll(attempts);

        Assert.All(results.GroupBy(r => r.id), g => Assert.Equal(1, g.Count(r => r.Won)));
        Assert.Equal(200, results.Count(r => r.Won));
    }

    [Fact]
    public async Task The_audit_log_is_read_in_order_and_cannot_be_changed()
    {
        var store = await OpenAsync();
        var first = await store.AppendAuditAsync(new AuditEntry(0, s_now, "enclave", "provision", "web", "host-1", "refused", "pcrs: no match", "0=00"));
        var second = await store.AppendAuditAsync(new AuditEntry(0, s_now.AddSeconds(1), "operator:operator", "secret.set", "web", null, "done", "API_KEY version 1", null));
        Assert.True(second > first);

        var all = await store.ReadAuditAsync(0, 10);
        Assert.Equal([first, second], all.Select(e => e.Id));
        Assert.Equal(new AuditEntry(first, s_now, "enclave", "provision", "web", "host-1", "refused", "pcrs: no match", "0=00"), all[0]);
        Assert.Equal([second], (await store.ReadAuditAsync(first, 10)).Select(e => e.Id));
        Assert.Single(await store.ReadAuditAsync(0, 1));

        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync("UPDATE audit SET outcome = 'granted'"));
        await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync("DELETE FROM audit"));
        Assert.Equal("refused", (await store.ReadAuditAsync(0, 1))[0].Outcome);
        Assert.Equal(2, await ScalarRawAsync("SELECT COUNT(*) FROM audit"));
    }

    private async Task<IProvisionerStore> OpenAsync()
    {
        var store = await OpenStoreAsync();
        _stores.Add(store);
        return store;
    }

    private static FileStorageKey StorageKey() => FileStorageKey.Create(Path.Combine(Directory.CreateTempSubdirectory("cl-key-").FullName, "storage.key"));

    private static SealedKeyVersion KeyVersion(string deployment, string keyId, int version, byte seed = 0) =>
        new(deployment, keyId, version, [1, (byte)version, seed], [2, (byte)version, seed], [3, (byte)version, seed], s_now);

    private static Dictionary<int, byte[]> Pcrs(byte seed) =>
        new() { [0] = Enumerable.Repeat(seed, 48).ToArray(), [1] = Enumerable.Repeat((byte)(seed + 1), 48).ToArray(), [2] = Enumerable.Repeat((byte)(seed + 2), 48).ToArray() };
}

public sealed class SqliteProvisionerStoreTests : ProvisionerStoreTests, IDisposable
{
    private readonly TempRunDirectory _directory = new();

    private string DatabasePath => Path.Combine(_directory.Path, "provisioner.db");

    protected override async Task<IProvisionerStore> OpenStoreAsync() => await SqliteProvisionerStore.OpenAsync(DatabasePath);

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    protected override async Task<long> ScalarRawAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task The_database_is_mode_0600_in_wal_mode()
    {
        await OpenStoreAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DatabasePath));
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", await command.ExecuteScalarAsync());
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

public sealed class PostgresProvisionerStoreTests : ProvisionerStoreTests, IClassFixture<PostgresServer>
{
    private readonly PostgresServer _server;
    private readonly string _database;

    public PostgresProvisionerStoreTests(PostgresServer server)
    {
        _server = server;
        _database = server.CreateDatabase();
    }

    protected override async Task<IProvisionerStore> OpenStoreAsync() => await PostgresProvisionerStore.OpenAsync(_server.Url(_database));

    protected override async Task ExecuteRawAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_server.ConnectionString(_database));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    protected override async Task<long> ScalarRawAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_server.ConnectionString(_database));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void A_postgres_url_becomes_a_connection_string_and_a_malformed_one_is_refused()
    {
        var parsed = new Npgsql.NpgsqlConnectionStringBuilder(PostgresProvisionerStore.ConnectionString("postgres://app:p%40ss@db.internal:6543/prov?sslmode=require"));
        Assert.Equal(("db.internal", 6543, "prov", "app", "p@ss", Npgsql.SslMode.Require), (parsed.Host, parsed.Port, parsed.Database, parsed.Username, parsed.Password, parsed.SslMode));
        Assert.Throws<FormatException>(() => PostgresProvisionerStore.ConnectionString("postgres://db.internal"));
        Assert.Throws<FormatException>(() => PostgresProvisionerStore.ConnectionString("postgres://u@db/prov?timeout=3"));
    }
}
