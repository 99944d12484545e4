using System.Data.Common;
using Cloister.Provisioner.AtRest;
using Microsoft.Data.Sqlite;

namespace Cloister.Provisioner.Storage;

/// <summary>
/// The embedded store: one SQLite file (mode 0600) in write-ahead-log mode with <c>synchronous=FULL</c>, so a write
/// whose task has completed survives a <c>kill -9</c> of the process (and a power cut).
/// </summary>
public sealed class SqliteProvisionerStore : SqlProvisionerStore
{
    private readonly string _connectionString;

    private SqliteProvisionerStore(string path)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> Migrations { get; } =
    [
        InitialSchema("BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        """
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
        TokenExpiryIndex,
        DeploymentKeysSchema("BLOB"),
    ];

    /// <summary>Opens (creating it, mode 0600, if needed) and migrates the database file.</summary>
    /// <param name="path">The database file, e.g. <c>DIR/provisioner.db</c>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The store.</returns>
    /// <exception cref="SqliteException">The file is not a database or cannot be opened.</exception>
    /// <exception cref="IOException">The file cannot be created.</exception>
    public static async Task<SqliteProvisionerStore> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            // SQLite gives its -wal and -shm files the database file's mode, so creating it 0600 covers all three.
            using var created = OwnerOnlyFile.CreateNew(path);
        }

        var store = new SqliteProvisionerStore(path);
        await using (var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode = WAL";
            await wal.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <inheritdoc/>
    protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var pragmas = connection.CreateCommand();
            // Per connection: a pooled connection keeps them, but each new one starts with SQLite's defaults.
            pragmas.CommandText = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000";
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc/>
    protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        // Microsoft.Data.Sqlite begins transactions IMMEDIATE: the transaction already holds the database's write lock.
        Task.CompletedTask;

    /// <inheritdoc/>
    public override ValueTask DisposeAsync()
    {
        // Closes the pooled handles so the file can be moved or deleted once the store is gone.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
