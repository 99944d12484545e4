using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Cloister.Testing;

/// <summary>
/// A real, throwaway PostgreSQL server from Debian's packages: initdb into a temporary directory, pg_ctl start on a
/// free loopback port with its Unix socket in that directory, stopped and deleted on dispose. initdb refuses to run as
/// root, so as root the server runs as the <c>postgres</c> user. Missing binaries fail the test (never a skip).
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private const string Superuser = "postgres";
    private readonly string _bin;
    private readonly string _root;
    private readonly string _data;
    private readonly bool _asPostgresUser = Environment.UserName == "root";

    public PostgresServer()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "pg_ctl"))).OrderByDescending(b => b, StringComparer.Ordinal).FirstOrDefault() ?? ""
            : "";
        if (_bin.Length == 0)
        {
            throw new InvalidOperationException("postgresql is not installed: bash .ci/install (Debian package postgresql; the tests need initdb and pg_ctl)");
        }

        _root = Directory.CreateTempSubdirectory("cl-pg-").FullName;
        _data = Path.Combine(_root, "data");
        try
        {
            if (_asPostgresUser)
            {
                Check(ExternalTool.Capture("chown", [$"{Superuser}:{Superuser}", _root]), "chown");
            }

            Check(Postgres("initdb", "-D", _data, "-U", Superuser, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"), "initdb");
            Port = FreePort();
            // fsync off: the tests kill provisioners, never this server, so its own durability is not under test.
            var settings = string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200");
            Check(Postgres("pg_ctl", "start", "-w", "-t", "60", "-D", _data, "-l", Path.Combine(_root, "server.log"), "-o", settings), "pg_ctl start");
        }
        catch
        {
            Directory.Delete(_root, recursive: true);
            throw;
        }
    }

    /// <summary>The server's TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The Npgsql connection string for a database of this server.</summary>
    public string ConnectionString(string database) =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username={Superuser};Database={database};Pooling=true");

    /// <summary>The <c>postgres://</c> URL of a database of this server.</summary>
    public string Url(string database) => string.Create(CultureInfo.InvariantCulture, $"postgres://{Superuser}@127.0.0.1:{Port}/{database}");

    /// <summary>Creates a new, empty database and returns its name.</summary>
    public string CreateDatabase()
    {
        var name = "t" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        Check(Postgres("createdb", "-h", _root, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, name), "createdb");
        return name;
    }

    public void Dispose()
    {
        try
        {
            Postgres("pg_ctl", "stop", "-w", "-m", "immediate", "-D", _data);
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private ProcessResult Postgres(string tool, params string[] arguments) =>
        _asPostgresUser
            ? ExternalTool.Capture(ExternalTool.Require("runuser", "util-linux"), ["-u", Superuser, "--", Path.Combine(_bin, tool), .. arguments], workingDirectory: _root)
            : ExternalTool.Capture(Path.Combine(_bin, tool), arguments, workingDirectory: _root);

    private static void Check(ProcessResult result, string what)
    {
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{what} failed: {result}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
