using System.Data;
using System.Data.Common;
using System.Globalization;

namespace Cloister.Provisioner.Storage;

/// <summary>
/// The store over ADO.NET: the statements both backends share (parameters as <c>@name</c>, times as Unix
/// milliseconds, flags as 0/1, <c>ON CONFLICT</c> and <c>RETURNING</c>), with each backend's connections, types,
/// and migration lock left to it.
/// </summary>
public abstract class SqlProvisionerStore : IProvisionerStore
{
    /// <summary>How long after its expiry a token's record is kept (issuing a token deletes older ones).</summary>
    public static readonly TimeSpan ExpiredTokenRetention = TimeSpan.FromHours(1);

    /// <summary>Migration 3: the index that keeps pruning expired tokens cheap. Both backends share it.</summary>
    protected const string TokenExpiryIndex = "CREATE INDEX tokens_expires_at ON tokens (expires_at)";

    /// <summary>Migration 4: every version of each deployment's encryption keys (private and data key sealed).</summary>
    /// <param name="binary">The column type of byte strings.</param>
    protected static string DeploymentKeysSchema(string binary) => $"""
        CREATE TABLE deployment_keys (
          deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE, key_id TEXT NOT NULL, version BIGINT NOT NULL,
          public_key {binary} NOT NULL, private_key {binary} NOT NULL, data_key {binary} NOT NULL, created_at BIGINT NOT NULL,
          PRIMARY KEY (deployment, version));
        """;

    /// <summary>Opens a connection configured for this store.</summary>
    protected abstract Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>The schema migrations in order; migration <c>i</c> makes schema version <c>i + 1</c>.</summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Serializes migrators on one database for the rest of <paramref name="transaction"/>.</summary>
    protected abstract Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var version = 0;
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < Migrations.Count; i++)
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            await LockForMigrationAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken).ConfigureAwait(false);
            version = (int)(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken).ConfigureAwait(false));
            if (version <= i)
            {
                await ExecuteAsync(connection, transaction, Migrations[i], cancellationToken).ConfigureAwait(false);
                await using var record = Command(connection, transaction, "INSERT INTO schema_version (version, applied_at) VALUES (@v, @at)");
                Add(record, "v", (long)(i + 1));
                Add(record, "at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                version = i + 1;
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return version;
    }

    /// <inheritdoc/>
    public async Task<DeploymentRecord?> GetDeploymentAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT hostnames, allow_debug, ca_certificate, ca_key FROM deployments WHERE name = @name");
        Add(command, "name", name);
        string hostnames, certificate;
        bool allowDebug;
        byte[] key;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            (hostnames, allowDebug, certificate, key) = (reader.GetString(0), reader.GetInt64(1) != 0, reader.GetString(2), reader.GetFieldValue<byte[]>(3));
        }

        await using var sets = Command(connection, null, "SELECT pcrs FROM pcr_sets WHERE deployment = @name ORDER BY position");
        Add(sets, "name", name);
        var pcrSets = new List<IReadOnlyDictionary<int, byte[]>>();
        await using (var reader = await sets.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                pcrSets.Add(ParsePcrSet(reader.GetString(0)));
            }
        }

        return new DeploymentRecord(name, hostnames.Split('\n', StringSplitOptions.RemoveEmptyEntries), allowDebug, pcrSets, certificate, key);
    }

    /// <inheritdoc/>
    public async Task PutDeploymentAsync(DeploymentRecord deployment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var upsert = Command(connection, transaction, """
            INSERT INTO deployments (name, hostnames, allow_debug, ca_certificate, ca_key) VALUES (@name, @hostnames, @debug, @cert, @key)
            ON CONFLICT (name) DO UPDATE SET hostnames = excluded.hostnames, allow_debug = excluded.allow_debug,
              ca_certificate = excluded.ca_certificate, ca_key = excluded.ca_key
            """))
        {
            Add(upsert, "name", deployment.Name);
            Add(upsert, "hostnames", string.Join('\n', deployment.Hostnames));
            Add(upsert, "debug", deployment.AllowDebug ? 1L : 0L);
            Add(upsert, "cert", deployment.CaCertificatePem);
            Add(upsert, "key", deployment.SealedCaKey);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var clear = Command(connection, transaction, "DELETE FROM pcr_sets WHERE deployment = @name"))
        {
            Add(clear, "name", deployment.Name);
            await clear.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < deployment.PcrSets.Count; i++)
        {
            await using var insert = Command(connection, transaction, "INSERT INTO pcr_sets (deployment, position, pcrs) VALUES (@name, @position, @pcrs)");
            Add(insert, "name", deployment.Name);
            Add(insert, "position", (long)i);
            Add(insert, "pcrs", FormatPcrSet(deployment.PcrSets[i]));
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> ReplaceCertificateAuthorityAsync(
        string deployment, string currentCertificatePem, string certificatePem, byte[] sealedKey, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "UPDATE deployments SET ca_certificate = @cert, ca_key = @key WHERE name = @name AND ca_certificate = @current");
        Add(command, "name", deployment);
        Add(command, "current", currentCertificatePem);
        Add(command, "cert", certificatePem);
        Add(command, "key", sealedKey);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<int> SetSecretAsync(string deployment, string name, Func<int, byte[]> seal, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(seal);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // Optimistic: the write names the version it read, so two concurrent writers (on PostgreSQL, where the
        // transaction does not lock the row it reads) cannot both make version n + 1; the loser reads again.
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var exists = Command(connection, transaction, "SELECT COUNT(*) FROM deployments WHERE name = @d"))
            {
                Add(exists, "d", deployment);
                if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 0)
                {
                    throw new InvalidOperationException($"there is no deployment '{deployment}'");
                }
            }

            long current;
            await using (var read = Command(connection, transaction, "SELECT version FROM secrets WHERE deployment = @d AND name = @n"))
            {
                Add(read, "d", deployment);
                Add(read, "n", name);
                current = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is { } found and not DBNull
                    ? Convert.ToInt64(found, CultureInfo.InvariantCulture)
                    : 0;
            }

            var next = checked((int)current + 1);
            await using var write = Command(connection, transaction, current == 0
                ? "INSERT INTO secrets (deployment, name, version, value, updated_at) VALUES (@d, @n, @v, @value, @at) ON CONFLICT (deployment, name) DO NOTHING"
                : "UPDATE secrets SET version = @v, value = @value, updated_at = @at WHERE deployment = @d AND name = @n AND version = @old");
            Add(write, "d", deployment);
            Add(write, "n", name);
            Add(write, "v", (long)next);
            Add(write, "old", current);
            Add(write, "value", seal(next));
            Add(write, "at", at.ToUnixTimeMilliseconds());
            if (await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return next;
            }

            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<SecretInfo>> ListSecretsAsync(string deployment, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT name, version, updated_at FROM secrets WHERE deployment = @d ORDER BY name");
        Add(command, "d", deployment);
        var secrets = new List<SecretInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            secrets.Add(new SecretInfo(reader.GetString(0), (int)reader.GetInt64(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }

        return secrets;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<SealedSecret>> GetSecretsAsync(string deployment, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT name, version, value FROM secrets WHERE deployment = @d ORDER BY name");
        Add(command, "d", deployment);
        var secrets = new List<SealedSecret>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            secrets.Add(new SealedSecret(reader.GetString(0), (int)reader.GetInt64(1), reader.GetFieldValue<byte[]>(2)));
        }

        return secrets;
    }

    /// <inheritdoc/>
    public async Task<bool> RemoveSecretAsync(string deployment, string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "DELETE FROM secrets WHERE deployment = @d AND name = @n");
        Add(command, "d", deployment);
        Add(command, "n", name);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc/>
    public async Task<bool> AddKeyVersionAsync(SealedKeyVersion key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One statement: it inserts only the next version with the ring's key id, and the primary key (deployment,
        // version) settles racing writers. On PostgreSQL the loser waits on the winner's uncommitted row, then ON
        // CONFLICT makes its insert nothing; on SQLite the write lock serializes them, so the loser sees the winner's
        // row and its version is no longer the next. (SQLite needs the WHERE to parse an INSERT … SELECT … ON CONFLICT.)
        await using var insert = Command(connection, null, """
            INSERT INTO deployment_keys (deployment, key_id, version, public_key, private_key, data_key, created_at)
            SELECT @d, @k, @v, @public, @private, @data, @at FROM deployments
            WHERE name = @d
              AND (SELECT COALESCE(MAX(version), 0) FROM deployment_keys WHERE deployment = @d) = @v - 1
              AND NOT EXISTS (SELECT 1 FROM deployment_keys WHERE deployment = @d AND key_id <> @k)
            ON CONFLICT (deployment, version) DO NOTHING
            """);
        Add(insert, "d", key.Deployment);
        Add(insert, "k", key.KeyId);
        Add(insert, "v", (long)key.Version);
        Add(insert, "public", key.PublicKey);
        Add(insert, "private", key.SealedPrivateKey);
        Add(insert, "data", key.SealedDataKey);
        Add(insert, "at", key.CreatedAt.ToUnixTimeMilliseconds());
        if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
        {
            return true;
        }

        await using var exists = Command(connection, null, "SELECT COUNT(*) FROM deployments WHERE name = @d");
        Add(exists, "d", key.Deployment);
        return Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) != 0
            ? false
            : throw new InvalidOperationException($"there is no deployment '{key.Deployment}'");
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<SealedKeyVersion>> GetKeyVersionsAsync(string deployment, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, """
            SELECT key_id, version, public_key, private_key, data_key, created_at FROM deployment_keys WHERE deployment = @d ORDER BY version
            """);
        Add(command, "d", deployment);
        var keys = new List<SealedKeyVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new SealedKeyVersion(
                deployment,
                reader.GetString(0),
                (int)reader.GetInt64(1),
                reader.GetFieldValue<byte[]>(2),
                reader.GetFieldValue<byte[]>(3),
                reader.GetFieldValue<byte[]>(4),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }

        return keys;
    }

    /// <inheritdoc/>
    public async Task<bool> AddHostAsync(HostRecord host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, """
            INSERT INTO hosts (name, certificate_serial, certificate_thumbprint, created_at, revoked_at) VALUES (@n, @serial, @thumbprint, @at, NULL)
            ON CONFLICT (name) DO NOTHING
            """);
        Add(command, "n", host.Name);
        Add(command, "serial", host.CertificateSerial);
        Add(command, "thumbprint", host.CertificateThumbprint);
        Add(command, "at", host.CreatedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<HostRecord?> GetHostAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT certificate_serial, certificate_thumbprint, created_at, revoked_at FROM hosts WHERE name = @n");
        Add(command, "n", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new HostRecord(
                name,
                reader.GetString(0),
                reader.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null;
    }

    /// <inheritdoc/>
    public async Task<bool> RevokeHostAsync(string name, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "UPDATE hosts SET revoked_at = COALESCE(revoked_at, @at) WHERE name = @n");
        Add(command, "n", name);
        Add(command, "at", at.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task AddTokenAsync(TokenRecord token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, """
            INSERT INTO tokens (id, deployment, host, issued_at, expires_at, redeemed_at) VALUES (@id, @d, @h, @issued, @expires, NULL)
            """);
        Add(command, "id", token.Id);
        Add(command, "d", token.Deployment);
        Add(command, "h", token.Host);
        Add(command, "issued", token.IssuedAt.ToUnixTimeMilliseconds());
        Add(command, "expires", token.ExpiresAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

        // Tokens long expired are refused as expired before their record is consulted, so the record can go; the
        // audit log keeps the history.
        await using var prune = Command(connection, null, "DELETE FROM tokens WHERE expires_at < @cutoff");
        Add(prune, "cutoff", (token.IssuedAt - ExpiredTokenRetention).ToUnixTimeMilliseconds());
        await prune.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<bool> RedeemTokenAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One statement: the row lock (PostgreSQL) or the database write lock (SQLite) makes the IS NULL test and the
        // write one step, so of racing redeemers exactly one changes a row.
        await using var command = Command(connection, null, "UPDATE tokens SET redeemed_at = @at WHERE id = @id AND redeemed_at IS NULL");
        Add(command, "id", id);
        Add(command, "at", at.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc/>
    public async Task<long> AppendAuditAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, """
            INSERT INTO audit (at, actor, action, deployment, host, outcome, reason, pcrs) VALUES (@at, @actor, @action, @d, @h, @outcome, @reason, @pcrs)
            RETURNING id
            """);
        Add(command, "at", entry.At.ToUnixTimeMilliseconds());
        Add(command, "actor", entry.Actor);
        Add(command, "action", entry.Action);
        Add(command, "d", entry.Deployment);
        Add(command, "h", entry.Host);
        Add(command, "outcome", entry.Outcome);
        Add(command, "reason", entry.Reason);
        Add(command, "pcrs", entry.Pcrs);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(long afterId, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, """
            SELECT id, at, actor, action, deployment, host, outcome, reason, pcrs FROM audit WHERE id > @after ORDER BY id LIMIT @limit
            """);
        Add(command, "after", afterId);
        Add(command, "limit", (long)limit);
        var entries = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new AuditEntry(
                reader.GetInt64(0),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                reader.GetString(2),
                reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return entries;
    }

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    /// <summary>The tables both backends share, with the backend's binary type and auto-numbered key.</summary>
    /// <param name="binary">The column type of byte strings.</param>
    /// <param name="autoId">The definition of the audit log's auto-numbered primary key.</param>
    protected static string InitialSchema(string binary, string autoId) => $"""
        CREATE TABLE deployments (
          name TEXT PRIMARY KEY, hostnames TEXT NOT NULL, allow_debug BIGINT NOT NULL, ca_certificate TEXT NOT NULL, ca_key {binary} NOT NULL);
        CREATE TABLE pcr_sets (
          deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE, position BIGINT NOT NULL, pcrs TEXT NOT NULL,
          PRIMARY KEY (deployment, position));
        CREATE TABLE secrets (
          deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE, name TEXT NOT NULL, version BIGINT NOT NULL,
          value {binary} NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (deployment, name));
        CREATE TABLE hosts (
          name TEXT PRIMARY KEY, certificate_serial TEXT NOT NULL, certificate_thumbprint TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT);
        CREATE TABLE tokens (
          id TEXT PRIMARY KEY, deployment TEXT NOT NULL, host TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, redeemed_at BIGINT);
        CREATE TABLE audit (
          id {autoId}, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, deployment TEXT, host TEXT, outcome TEXT NOT NULL,
          reason TEXT, pcrs TEXT);
        """;

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> ScalarAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    private static string FormatPcrSet(IReadOnlyDictionary<int, byte[]> set) =>
        string.Join(',', set.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={Convert.ToHexStringLower(p.Value)}")));

    private static Dictionary<int, byte[]> ParsePcrSet(string text) =>
        text.Split(',').Select(p => p.Split('=')).ToDictionary(p => int.Parse(p[0], CultureInfo.InvariantCulture), p => Convert.FromHexString(p[1]));
}
