using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cloister.Testing.Kms;

/// <summary>
/// The EC2 instance metadata service as IMDSv2 speaks it, on 127.0.0.1, serving one instance role's credentials
/// (docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html,
/// …/iam-roles-for-amazon-ec2.html#instance-metadata-security-credentials):
/// <c>PUT /latest/api/token</c> with <c>X-aws-ec2-metadata-token-ttl-seconds</c> (1–21600) gives a session token;
/// every <c>GET</c> must carry it as <c>X-aws-ec2-metadata-token</c> (else 401);
/// <c>GET /latest/meta-data/iam/security-credentials/</c> names the role and <c>GET …/ROLE</c> answers the JSON with
/// <c>Code</c>, <c>LastUpdated</c>, <c>Type</c>, <c>AccessKeyId</c>, <c>SecretAccessKey</c>, <c>Token</c> and
/// <c>Expiration</c>. Point the AWS SDK at it with <c>AWS_EC2_METADATA_SERVICE_ENDPOINT</c> = <see cref="Endpoint"/>.
/// </summary>
internal sealed class FakeImds : IAsyncDisposable
{
    private const string CredentialsPath = "/latest/meta-data/iam/security-credentials/";

    private readonly LoopbackServer _server;
    private readonly string _sessionToken = "imds-session-" + Guid.NewGuid().ToString("N");

    /// <summary>Starts serving <paramref name="roleName"/>'s credentials.</summary>
    public FakeImds(string roleName, string accessKeyId, string secretAccessKey, string token, DateTimeOffset expiration)
    {
        RoleName = roleName;
        AccessKeyId = accessKeyId;
        SecretAccessKey = secretAccessKey;
        Token = token;
        Expiration = expiration;
        _server = new LoopbackServer(ServeAsync);
    }

    public string RoleName { get; }

    public string AccessKeyId { get; }

    public string SecretAccessKey { get; }

    public string Token { get; }

    public DateTimeOffset Expiration { get; }

    /// <summary>The service's base URL, <c>http://127.0.0.1:PORT</c> (the SDK appends <c>/latest/…</c> as it is).</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_server.Port}");

    /// <summary>Every request as <c>METHOD PATH STATUS</c>, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    // Keep-alive, as IMDS: the SDK may send its token request and credential requests on one connection.
    private async Task ServeAsync(Socket socket)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var pending = new List<byte>();
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                int end;
                while ((end = IndexOfHeadEnd(pending)) < 0)
                {
                    var read = await stream.ReadAsync(chunk, _server.Stopping);
                    if (read == 0 || pending.Count > 16 << 10)
                    {
                        return;
                    }

                    pending.AddRange(chunk.AsSpan(0, read));
                }

                var lines = Encoding.ASCII.GetString([.. pending.Take(end)]).Split("\r\n");
                pending.RemoveRange(0, end + 4);
                var headers = lines.Skip(1).Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2)
                    .ToDictionary(parts => parts[0].Trim(), parts => parts[1].Trim(), StringComparer.OrdinalIgnoreCase);
                var length = headers.TryGetValue("Content-Length", out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : 0;
                while (pending.Count < length)
                {
                    var read = await stream.ReadAsync(chunk, _server.Stopping);
                    if (read == 0)
                    {
                        return;
                    }

                    pending.AddRange(chunk.AsSpan(0, read));
                }

                pending.RemoveRange(0, length);
                var requestLine = lines[0].Split(' ');
                var (status, body) = Answer(requestLine[0], requestLine[1], headers);
                Requests.Enqueue($"{requestLine[0]} {requestLine[1]} {status}");
                var bytes = Encoding.UTF8.GetBytes(body);
                var head = string.Create(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Error")}\r\nContent-Type: text/plain\r\nContent-Length: {bytes.Length}\r\n\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _server.Stopping);
                await stream.WriteAsync(bytes, _server.Stopping);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            // The client went away, or the test is over.
        }
    }

    private (int Status, string Body) Answer(string method, string path, Dictionary<string, string> headers)
    {
        if (method == "PUT" && path == "/latest/api/token")
        {
            return headers.TryGetValue("X-aws-ec2-metadata-token-ttl-seconds", out var ttl) && int.TryParse(ttl, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 21600
                ? (200, _sessionToken)
                : (400, "");
        }

        if (method != "GET")
        {
            return (405, "");
        }

        if (!headers.TryGetValue("X-aws-ec2-metadata-token", out var presented) || presented != _sessionToken)
        {
            return (401, "");
        }

        // IMDS lists a folder with or without its trailing '/'; the SDK for .NET asks without it.
        if (path == CredentialsPath || path == CredentialsPath.TrimEnd('/'))
        {
            return (200, RoleName);
        }

        if (path == CredentialsPath + RoleName)
        {
            var stamp = (DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            return (200, $$"""
                {
                  "Code" : "Success",
                  "LastUpdated" : "{{stamp(DateTimeOffset.UtcNow)}}",
                  "Type" : "AWS-HMAC",
                  "AccessKeyId" : "{{AccessKeyId}}",
                  "SecretAccessKey" : "{{SecretAccessKey}}",
                  "Token" : "{{Token}}",
                  "Expiration" : "{{stamp(Expiration)}}"
                }
                """);
        }

        return (404, "");
    }

    private static int IndexOfHeadEnd(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
