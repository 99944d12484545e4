using System.Net;
using Cloister.Host.Ingress;
using Cloister.Runtime.Messages;

namespace Cloister.Host.Supervision;

/// <summary>How <see cref="HostSupervisor"/> serves one enclave.</summary>
public sealed record HostSupervisorOptions
{
    /// <summary>Receives the app's stdout lines, as they were written.</summary>
    public required TextWriter Output { get; init; }

    /// <summary>Receives the app's stderr and the supervisor's lines (prefixed), and the host's own notices (<c>cloister: …</c>).</summary>
    public required TextWriter Diagnostics { get; init; }

    /// <summary>The address ingress listeners bind; loopback unless the user opens them wider.</summary>
    public IPAddress IngressAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Ingress ports listened on under another host port; the others listen on their own number.</summary>
    public IReadOnlyList<PublishedPort> PublishedPorts { get; init; } = [];

    /// <summary>
    /// Relay every ingress connection through the host over vsock, as on Nitro, even where the transport could hand it to
    /// the enclave whole (the simulator does, by default: a hop fewer per request).
    /// </summary>
    public bool RelayIngress { get; init; }

    /// <summary>How long the app has to exit after SIGTERM before the enclave is ended by force.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The host's vsock services besides the status and log streams, which the supervisor serves itself: egress (7002),
    /// the provisioner relay (7003), tokens (7005), … Each is listened on before the enclave starts; a port without a
    /// service is not listened on, so the enclave's connections to it are refused.
    /// </summary>
    public IReadOnlyList<HostService> Services { get; init; } = [];

    /// <summary>Told about every status event, after it was reported; called from a pool thread.</summary>
    public Action<StatusEvent>? StatusChanged { get; init; }

    /// <summary>Told about each ingress listener once it listens; called before the enclave is started.</summary>
    public Action<IngressForwarder>? IngressListening { get; init; }
}
