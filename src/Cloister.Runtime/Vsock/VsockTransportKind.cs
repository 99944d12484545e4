namespace Cloister.Runtime.Vsock;

/// <summary>How vsock addresses are reached.</summary>
public enum VsockTransportKind
{
    /// <summary>Real AF_VSOCK sockets: inside a Nitro enclave, or on its parent instance.</summary>
    Native,

    /// <summary>Unix sockets named <c>&lt;run-dir&gt;/vsock/&lt;cid&gt;_&lt;port&gt;.sock</c>: the local simulator.</summary>
    Simulated,
}
