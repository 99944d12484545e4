using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Cloister.Runtime.Vsock;

/// <summary>
/// A vsock address: a context id (CID) and a port. As an <see cref="EndPoint"/> it serializes to the Linux
/// <c>struct sockaddr_vm</c> (<c>include/uapi/linux/vm_sockets.h</c>).
/// </summary>
public sealed class VsockEndpoint : EndPoint, IEquatable<VsockEndpoint>
{
    /// <summary><c>AF_VSOCK</c> on Linux.</summary>
    public const AddressFamily VsockAddressFamily = (AddressFamily)40;

    /// <summary>The size of <c>struct sockaddr_vm</c>: the size of <c>struct sockaddr</c>.</summary>
    public const int SockaddrSize = 16;

    /// <summary><c>VMADDR_CID_ANY</c>: bind on whatever CID this machine has.</summary>
    public const uint AnyCid = uint.MaxValue;

    /// <summary>The parent instance's CID as a Nitro enclave sees it.</summary>
    public const uint HostCid = 3;

    /// <summary>Host listener: Nitro init's boot heartbeat (0xB7 echoed).</summary>
    public const uint HeartbeatPort = 9000;

    /// <summary>Host listener: the enclave's status stream (JSON lines).</summary>
    public const uint StatusPort = 7000;

    /// <summary>Host listener: the enclave's log stream.</summary>
    public const uint LogsPort = 7001;

    /// <summary>Host listener: egress connections, each opened by a <c>host:port</c> line.</summary>
    public const uint EgressPort = 7002;

    /// <summary>Host listener: the relay to the provisioner.</summary>
    public const uint ProvisionerPort = 7003;

    /// <summary>
    /// Host listener: AWS credentials for the in-enclave KMS proxy. Each connection gets one JSON line,
    /// <c>{"AccessKeyId","SecretAccessKey","Token","Expiration"}</c> (IMDS's shape) or <c>{"error"}</c>.
    /// </summary>
    public const uint KmsCredentialsPort = 7004;

    /// <summary>
    /// Host listener: provisioning tokens. Each connection gets one JSON line, a fresh <c>TokenResponse</c> or
    /// <c>{"error"}</c>, so a retried provisioning never reuses a spent token.
    /// </summary>
    public const uint ProvisioningTokenPort = 7005;

    /// <summary>
    /// The enclave's stop port (host → enclave), where the host asks the supervisor to stop the app gracefully. Above
    /// 65535 on purpose: ingress ports are TCP port numbers, so none can ever take it.
    /// </summary>
    public const uint StopPort = 65536;

    private const int FamilyOffset = 0;
    private const int PortOffset = 4;
    private const int CidOffset = 8;

    /// <summary>Creates an address.</summary>
    /// <param name="cid">The context id; <see cref="AnyCid"/> only for binding.</param>
    /// <param name="port">The port.</param>
    public VsockEndpoint(uint cid, uint port)
    {
        Cid = cid;
        Port = port;
    }

    /// <summary>The context id.</summary>
    public uint Cid { get; }

    /// <summary>The port.</summary>
    public uint Port { get; }

    /// <inheritdoc/>
    public override AddressFamily AddressFamily => VsockAddressFamily;

    /// <summary>
    /// Writes <c>struct sockaddr_vm</c>: <c>svm_family</c> (u16), <c>svm_reserved1</c> (u16, zero), <c>svm_port</c> (u32),
    /// <c>svm_cid</c> (u32), <c>svm_flags</c> (u8, zero) and three zero bytes, all in the machine's byte order.
    /// </summary>
    /// <param name="destination">At least <see cref="SockaddrSize"/> bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public void WriteSockaddr(Span<byte> destination)
    {
        if (destination.Length < SockaddrSize)
        {
            throw new ArgumentException($"sockaddr_vm needs {SockaddrSize} bytes, the buffer has {destination.Length}", nameof(destination));
        }

        destination[..SockaddrSize].Clear();
        MemoryMarshal.Write(destination[FamilyOffset..], (ushort)VsockAddressFamily);
        MemoryMarshal.Write(destination[PortOffset..], Port);
        MemoryMarshal.Write(destination[CidOffset..], Cid);
    }

    /// <summary>Reads a <c>struct sockaddr_vm</c>, as <c>accept</c> or <c>getsockname</c> return it.</summary>
    /// <param name="sockaddr">The bytes.</param>
    /// <returns>The address.</returns>
    /// <exception cref="FormatException">The bytes are shorter than <see cref="SockaddrSize"/> or name another address family.</exception>
    public static VsockEndpoint ReadSockaddr(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < SockaddrSize)
        {
            throw new FormatException($"sockaddr_vm: {sockaddr.Length} bytes, expected {SockaddrSize}");
        }

        var family = MemoryMarshal.Read<ushort>(sockaddr[FamilyOffset..]);
        return family == (ushort)VsockAddressFamily
            ? new VsockEndpoint(MemoryMarshal.Read<uint>(sockaddr[CidOffset..]), MemoryMarshal.Read<uint>(sockaddr[PortOffset..]))
            : throw new FormatException($"sockaddr_vm: svm_family at offset 0 is {family}, expected {(int)VsockAddressFamily} (AF_VSOCK)");
    }

    /// <summary>The <c>sockaddr_vm</c> bytes in a <see cref="SocketAddress"/>.</summary>
    /// <returns>A 16-byte socket address. Its <see cref="SocketAddress.Family"/> getter is unusable: .NET does not know AF_VSOCK.</returns>
    public override SocketAddress Serialize()
    {
        // SocketAddress refuses to stamp a family .NET does not know, so start from AF_UNSPEC and write every byte ourselves.
        var address = new SocketAddress(AddressFamily.Unspecified, SockaddrSize);
        WriteSockaddr(address.Buffer.Span);
        return address;
    }

    /// <summary>Reads the address from the <c>sockaddr_vm</c> bytes of <paramref name="socketAddress"/>.</summary>
    /// <param name="socketAddress">The socket address.</param>
    /// <returns>The address.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socketAddress"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException">The bytes are not a <c>sockaddr_vm</c>.</exception>
    public override EndPoint Create(SocketAddress socketAddress)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        return ReadSockaddr(socketAddress.Buffer.Span[..socketAddress.Size]);
    }

    /// <inheritdoc/>
    public bool Equals(VsockEndpoint? other) => other is not null && other.Cid == Cid && other.Port == Port;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as VsockEndpoint);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Cid, Port);

    /// <summary>The address as <c>cid:port</c>, the way <c>socat VSOCK-CONNECT</c> spells it.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Cid}:{Port}");
}
