using System.Net;

namespace Cloister.Runtime.Ingress;

/// <summary>What the host saw of an ingress connection, as a PROXY protocol v2 header carries it to the enclave.</summary>
/// <param name="Source">The client's address and port.</param>
/// <param name="Destination">The host's listening address and port that the client connected to.</param>
public sealed record ProxyHeader(IPEndPoint Source, IPEndPoint Destination);
