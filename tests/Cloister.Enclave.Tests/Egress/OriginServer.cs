using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Cloister.Enclave.Tests.Egress;

/// <summary>
/// The destination behind the proxy: a real Kestrel on 127.0.0.1 with one plain HTTP and one HTTPS listener (a fresh
/// self-signed certificate that clients pin: what the tests check is the tunnel, not a chain).
/// </summary>
public sealed class OriginServer : IAsyncLifetime
{
    private WebApplication? _app;

    public int HttpPort { get; private set; }

    public int HttpsPort { get; private set; }

    /// <summary>The HTTPS certificate's SHA-1 hash, for clients that pin it instead of validating a chain.</summary>
    public string CertificateHash { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        using var certificate = CreateCertificate();
        CertificateHash = certificate.GetCertHashString();
        var pfx = certificate.Export(X509ContentType.Pkcs12);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(X509CertificateLoader.LoadPkcs12(pfx, null)));
        });
        _app = builder.Build();
        _app.MapGet("/hello", (HttpContext context) => $"hello from the origin, Host: {context.Request.Host}");
        _app.MapGet("/echo/{id}", (string id) => id);
        _app.MapGet("/bytes/{count:long}/{seed:int}", async (HttpContext context, long count, int seed) =>
        {
            context.Response.ContentLength = count;
            foreach (var chunk in DeterministicBytes.Chunks(count, seed))
            {
                await context.Response.Body.WriteAsync(chunk);
            }
        });
        _app.MapPost("/sha256", async (HttpContext context) =>
        {
            using var sha = SHA256.Create();
            return Convert.ToHexStringLower(await sha.ComputeHashAsync(context.Request.Body));
        });
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        HttpPort = PortOf(addresses, "http://");
        HttpsPort = PortOf(addresses, "https://");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static int PortOf(ICollection<string> addresses, string scheme) =>
        new Uri(addresses.Single(address => address.StartsWith(scheme, StringComparison.Ordinal))).Port;

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=origin.test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("origin.test");
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}

/// <summary>The same pseudo-random bytes on both ends of a transfer, from a seed, in 64 KiB chunks.</summary>
internal static class DeterministicBytes
{
    public static IEnumerable<byte[]> Chunks(long count, int seed)
    {
        var random = new Random(seed);
        for (long done = 0; done < count;)
        {
            var chunk = new byte[(int)Math.Min(64 * 1024, count - done)];
            random.NextBytes(chunk);
            done += chunk.Length;
            yield return chunk;
        }
    }

    public static string Sha256Hex(long count, int seed)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var chunk in Chunks(count, seed))
        {
            hash.AppendData(chunk);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static string Format(long count, int seed) => string.Create(CultureInfo.InvariantCulture, $"/bytes/{count}/{seed}");
}
