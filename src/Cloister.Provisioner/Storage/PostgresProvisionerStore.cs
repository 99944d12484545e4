using System.Data.Common;
using Npgsql;

namespace Cloister.Provisioner.Storage;

/// <summary>
/// The production store: one PostgreSQL database that several provisioner processes share as one service (tokens
/// are redeemed once across all of them; migrations run once, under an advisory lock).
/// </summary>
public sealed class PostgresProvisionerStore : SqlProvisionerStore
{
    // Any fixed number: the advisory lock that serializes provisioners migrating one database.
    private const long MigrationLockKey = 0x436c6f6973746572;

    /// <summary>The connection pool size of a store opened from a URL (a connection string says its own).</summary>
    public const int DefaultMaxPoolSize = 20;

    private readonly NpgsqlDataSource _dataSource;

    private PostgresProvisionerStore(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Migrations { get; } =
    [
        InitialSchema("BYTEA", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        """
        CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
        CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
        CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
        """,
        TokenExpiryIndex,
        DeploymentKeysSchema("BYTEA"),
    ];

    /// <summary>Connects to and migrates a database.</summary>
    /// <param name="database">A <c>postgres://user[:password]@host[:port]/database</c> URL or an Npgsql connection string.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The store.</returns>
    /// <exception cref="FormatException">The URL or connection string is malformed.</exception>
    /// <exception cref="NpgsqlException">The database cannot be reached or migrated.</exception>
    public static async Task<PostgresProvisionerStore> OpenAsync(string database, CancellationToken cancellationToken = default)
    {
        var store = new PostgresProvisionerStore(NpgsqlDataSource.Create(ConnectionString(database)));
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Whether a <c>--database</c> value names PostgreSQL: a <c>postgres://</c> or <c>postgresql://</c> URL, or a connection string.</summary>
    /// <param name="database">The value.</param>
    /// <returns>Whether it is for this store.</returns>
    public static bool Names(string database)
    {
        ArgumentNullException.ThrowIfNull(database);
        return database.StartsWith("postgres://", StringComparison.Ordinal) || database.StartsWith("postgresql://", StringComparison.Ordinal) || database.Contains('=', StringComparison.Ordinal);
    }

    /// <summary>The Npgsql connection string for a URL (or a connection string, checked and returned).</summary>
    /// <param name="database">A <c>postgres://user[:password]@host[:port]/database[?sslmode=…]</c> URL (pool size <see cref="DefaultMaxPoolSize"/>) or an Npgsql connection string.</param>
    /// <returns>The connection string.</returns>
    /// <exception cref="FormatException">It is malformed.</exception>
    public static string ConnectionString(string database)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        NpgsqlConnectionStringBuilder builder;
        if (database.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(database, UriKind.Absolute, out var url) || url.Scheme is not ("postgres" or "postgresql") || url.Host.Length == 0 || url.AbsolutePath.Length < 2)
            {
                throw new FormatException($"'{Redact(database)}' is not a postgres://user@host[:port]/database URL");
            }

            var user = url.UserInfo.Split(':', 2);
            builder = new NpgsqlConnectionStringBuilder
            {
                Host = url.Host,
                Port = url.IsDefaultPort || url.Port < 0 ? 5432 : url.Port,
                Database = Uri.UnescapeDataString(url.AbsolutePath[1..]),
                // Npgsql's default of 100 would let two provisioners exhaust PostgreSQL's default max_connections (100).
                MaxPoolSize = DefaultMaxPoolSize,
            };
            if (user[0].Length > 0)
            {
                builder.Username = Uri.UnescapeDataString(user[0]);
            }

            if (user.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(user[1]);
            }

            foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var (key, value) = pair.Split('=', 2) is [var k, var v] ? (k, Uri.UnescapeDataString(v)) : throw new FormatException($"URL parameter '{pair}' has no value");
                if (key != "sslmode" || !Enum.TryParse<SslMode>(value, ignoreCase: true, out var mode))
                {
                    throw new FormatException($"URL parameter '{key}={value}': only sslmode (disable, prefer, require, verify-ca, verify-full) is understood");
                }

                builder.SslMode = mode;
            }
        }
        else
        {
            try
            {
                builder = new NpgsqlConnectionStringBuilder(database);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"not a PostgreSQL connection string: {ex.Message}", ex);
            }
        }

        return builder.ConnectionString;
    }

    /// <inheritdoc/>
    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    protected override async Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT pg_advisory_xact_lock({MigrationLockKey})";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static string Redact(string url) => url.Contains('@', StringComparison.Ordinal) ? "postgres://…@" + url[(url.IndexOf('@', StringComparison.Ordinal) + 1)..] : url;
}
