using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Cloister.Benchmarks.Encryption;

/// <summary>
/// The baseline of bench/crypto-api.sh: AES-256-GCM encryption of a file's bytes, whole, once per operation, in one
/// .NET process on THREADS threads (one key and one AesGcm per thread, a random nonce per operation, the output into a
/// reused buffer): what the crypto API's work costs with no HTTP, no JSON and no key derivation around it.
/// Prints operations per second and MB/s (10^6 bytes of plaintext).
/// </summary>
internal static class RawAesGcmThroughput
{
    public const string Command = "aes-gcm";

    public static int Run(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Cloister.Benchmarks aes-gcm FILE [SECONDS] [THREADS]");
            return 2;
        }

        var plaintext = File.ReadAllBytes(args[1]);
        var seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var threads = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        Measure(plaintext, TimeSpan.FromSeconds(Math.Min(1, seconds / 5)), threads);
        var (operations, elapsed) = Measure(plaintext, TimeSpan.FromSeconds(seconds), threads);
        var perSecond = operations / elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{perSecond:0} ops/s {perSecond * plaintext.Length / 1e6:0.0} MB/s ({threads} threads, {plaintext.Length} bytes)"));
        return 0;
    }

    private static (long Operations, TimeSpan Elapsed) Measure(byte[] plaintext, TimeSpan duration, int threads)
    {
        long total = 0;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            using var aes = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
            var nonce = new byte[12];
            var ciphertext = new byte[plaintext.Length];
            var tag = new byte[16];
            long count = 0;
            while (clock.Elapsed < duration)
            {
                RandomNumberGenerator.Fill(nonce);
                aes.Encrypt(nonce, plaintext, ciphertext, tag);
                count++;
            }

            Interlocked.Add(ref total, count);
        })).ToList();
        workers.ForEach(worker => worker.Start());
        workers.ForEach(worker => worker.Join());
        return (total, clock.Elapsed);
    }
}
