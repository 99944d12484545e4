using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Cloister.Benchmarks.Relay;

/// <summary>
/// What idle relays hold: opens the connections of N relays (TCP ↔ Unix socket), measures, starts the relays, sends one
/// byte each way through each so both directions have run, lets them go quiet, and prints how much the managed heap and
/// the process's resident memory grew, per relay. Not a BenchmarkDotNet benchmark: it measures what stays allocated, not what an operation costs.
/// </summary>
internal static class IdleRelayMemory
{
    public const string Command = "idle-relays";

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
        var directory = Directory.CreateTempSubdirectory("cloister-bench-idle-");
        try
        {
            var rigs = await RelayRig.OpenAsync(count, directory.FullName);
            var (heapBefore, residentBefore) = Measure();

            // Wake each direction once so that each has received into a buffer at least once.
            var one = new byte[1];
            foreach (var rig in rigs)
            {
                rig.Start();
                await rig.Tcp.SendAsync(one, SocketFlags.None);
                await RelayRig.ReceiveExactlyAsync(rig.Unix, new byte[1]);
                await rig.Unix.SendAsync(one, SocketFlags.None);
                await RelayRig.ReceiveExactlyAsync(rig.Tcp, new byte[1]);
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
            var (heapAfter, residentAfter) = Measure();
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{count} idle relays: managed heap +{Mib(heapAfter - heapBefore)} MiB ({(heapAfter - heapBefore) / count:N0} B per relay), resident +{Mib(residentAfter - residentBefore)} MiB ({(residentAfter - residentBefore) / count:N0} B per relay)"));
            foreach (var rig in rigs)
            {
                await rig.DisposeAsync();
            }

            return 0;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static (long Heap, long Resident) Measure()
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return (heap, process.WorkingSet64);
    }

    private static string Mib(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture);
}
