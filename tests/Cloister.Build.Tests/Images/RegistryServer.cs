using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images;

/// <summary>
/// A real <c>docker-registry</c> (distribution 2.8) on a free loopback port with its own config and storage in a
/// temporary directory, optionally behind htpasswd Basic auth. Never the Debian default config: that one listens on
/// every interface.
/// </summary>
internal sealed class RegistryServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private RegistryServer(string directory, int port, Process process)
    {
        Directory = directory;
        Port = port;
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary><c>127.0.0.1:PORT</c>, as image references name it.</summary>
    public string Address => $"127.0.0.1:{Port}";

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts a registry and waits until it answers <c>GET /v2/</c>.</summary>
    /// <param name="htpasswd">Lines for an htpasswd file (bcrypt), to require Basic auth; <see langword="null"/> for an open registry.</param>
    public static async Task<RegistryServer> StartAsync(string? htpasswd = null)
    {
        var executable = ExternalTool.Require("docker-registry", "docker-registry");
        var directory = System.IO.Directory.CreateTempSubdirectory("cloister-registry-").FullName;
        var port = FreePort();
        var auth = "";
        if (htpasswd is not null)
        {
            var file = Path.Combine(directory, "htpasswd");
            await File.WriteAllTextAsync(file, htpasswd);
            auth = $"""
                auth:
                  htpasswd:
                    realm: cloister-test
                    path: {file}
                """;
        }

        var config = Path.Combine(directory, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: {Path.Combine(directory, "data")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            {auth}
            """);
        var info = new ProcessStartInfo(executable, ["serve", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var server = new RegistryServer(directory, port, Process.Start(info)!);
        await server.WaitUntilReadyAsync();
        return server;
    }

    /// <summary>Where the registry keeps a blob's bytes (distribution's filesystem driver layout).</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return Path.Combine(Directory, "data", "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with {_process.ExitCode} before it was ready:\n{Log}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://{Address}/v2/"));
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        Dispose();
        throw new TimeoutException($"docker-registry did not answer on {Address} within 30 s:\n{Log}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
