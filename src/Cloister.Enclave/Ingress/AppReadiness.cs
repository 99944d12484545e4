using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Cloister.Enclave.Ingress;

/// <summary>The app is ready when it accepts TCP on every ingress app port; polled until it does, the app ends, or a bound passes.</summary>
internal static class AppReadiness
{
    public static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// <see langword="true"/> once every port accepted a connection (at once when there are none); <see langword="false"/>
    /// when <paramref name="appExited"/> completed or <paramref name="bound"/> passed first.
    /// </summary>
    public static async Task<bool> WaitAsync(IReadOnlyList<int> appPorts, Task appExited, TimeSpan bound, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(appPorts);
        ArgumentNullException.ThrowIfNull(appExited);
        var started = Stopwatch.GetTimestamp();
        foreach (var port in appPorts)
        {
            while (!await AcceptsAsync(port, cancellationToken))
            {
                if (appExited.IsCompleted || Stopwatch.GetElapsedTime(started) > bound)
                {
                    return false;
                }

                await Task.Delay(s_pollInterval, cancellationToken);
            }
        }

        // It was ready, even if it ended since: with no ports at all, it is ready as soon as it was started.
        return true;
    }

    private static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
