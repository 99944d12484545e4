using System.Net.Sockets;
using Cloister.Runtime.Vsock;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Ingress;

/// <summary>A client connection as the simulated host serves it: TCP, its host end handed to the enclave whole.</summary>
internal static class HandedOverConnection
{
    /// <summary>Opens a loopback TCP connection, hands its accepted end to <paramref name="enclavePort"/> with <paramref name="preamble"/>, and returns the client's end.</summary>
    public static async Task<NetworkStream> OpenAsync(VsockTransport host, VsockEndpoint enclavePort, byte[] preamble)
    {
        using var pair = await LoopbackTcpPair.OpenAsync();
        await host.HandOverAsync(enclavePort, pair.Server, preamble);
        return pair.TakeClientStream();
    }
}
