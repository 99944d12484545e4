using System.Buffers;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Cloister.Benchmarks.Encryption;

/// <summary>
/// The transport's ceiling for bench/crypto-api.sh: Kestrel on 127.0.0.1:PORT answering every POST with its own body,
/// read whole into a pooled buffer and written back whole, as the crypto API does with its octet-stream bodies, minus
/// the cipher. Runs until killed.
/// </summary>
internal static class KestrelEcho
{
    public const string Command = "echo";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            await Console.Error.WriteLineAsync("usage: Cloister.Benchmarks echo PORT");
            return 2;
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        await using var app = builder.Build();
        app.Run(EchoAsync);
        await app.RunAsync();
        return 0;
    }

    private static async Task EchoAsync(HttpContext context)
    {
        var length = (int)(context.Request.ContentLength ?? 0);
        var body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var filled = 0;
            while (true)
            {
                var read = await context.Request.BodyReader.ReadAsync(context.RequestAborted);
                foreach (var segment in read.Buffer)
                {
                    segment.Span.CopyTo(body.AsSpan(filled));
                    filled += segment.Length;
                }

                context.Request.BodyReader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }

            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = filled;
            await context.Response.Body.WriteAsync(body.AsMemory(0, filled), context.RequestAborted);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }
}
