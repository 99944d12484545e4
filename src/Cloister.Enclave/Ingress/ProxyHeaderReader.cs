using System.IO.Pipelines;
using Cloister.Runtime.Ingress;

namespace Cloister.Enclave.Ingress;

/// <summary>Reads the PROXY v2 header the host puts first on every ingress connection, within a time limit; passthrough and attested ports alike.</summary>
internal static class ProxyHeaderReader
{
    /// <summary>The host writes the header as soon as it connects; a peer that holds it back longer only holds resources.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The header, with the connection's own bytes left in <paramref name="input"/>; <see langword="null"/> (logged) when it is malformed, late or cut off.</summary>
    /// <param name="port">The vsock port, for the log line.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<ProxyHeader?> TryReadAsync(PipeReader input, int port, Func<string, Task> log, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            return await ProxyProtocol.ReadAsync(input, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await log($"ingress {port}: no PROXY v2 header within {Timeout.TotalSeconds} s; connection closed");
        }
        catch (Exception ex) when (ex is ProxyProtocolException or IOException)
        {
            await log($"ingress {port}: {ex.Message}; connection closed");
        }

        return null;
    }
}
