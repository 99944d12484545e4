using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Cloister.Runtime.Ingress;

/// <summary>
/// The binary PROXY protocol v2 header (haproxy's proxy-protocol.txt §2.2) that starts every ingress connection from
/// the host to the enclave: 12-byte signature, version and command, family, length, then the addresses.
/// </summary>
/// <remarks>
/// Only what the host writes is accepted: version 2, command PROXY, TCP over IPv4 or IPv6. Type-length-value fields
/// after the addresses are skipped. The signature is checked as its bytes arrive, so a peer that does not speak the
/// protocol is refused at its first bytes rather than after waiting for sixteen.
/// </remarks>
public static class ProxyProtocol
{
    /// <summary>The longest header accepted: 16 fixed bytes and at most 216 of addresses and TLVs.</summary>
    public const int MaxHeaderLength = 16 + 216;

    private const int FixedLength = 16;
    private const byte VersionCommandProxy = 0x21;
    private const byte FamilyTcp4 = 0x11;
    private const byte FamilyTcp6 = 0x21;
    private const int Tcp4AddressLength = 4 + 4 + 2 + 2;
    private const int Tcp6AddressLength = 16 + 16 + 2 + 2;

    private static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>Writes the header for <paramref name="header"/>, without TLVs.</summary>
    /// <param name="header">The addresses; when one is IPv6 and the other IPv4, the IPv4 one is written IPv4-mapped.</param>
    /// <param name="destination">Where to write; 52 bytes always suffice.</param>
    /// <returns>The bytes written: 28 for IPv4, 52 for IPv6.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="header"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static int Write(ProxyHeader header, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(header);
        var ipv4 = header.Source.AddressFamily == AddressFamily.InterNetwork && header.Destination.AddressFamily == AddressFamily.InterNetwork;
        var addressLength = ipv4 ? Tcp4AddressLength : Tcp6AddressLength;
        var length = FixedLength + addressLength;
        if (destination.Length < length)
        {
            throw new ArgumentException($"the header needs {length} bytes; the destination has {destination.Length}", nameof(destination));
        }

        Signature.CopyTo(destination);
        destination[12] = VersionCommandProxy;
        destination[13] = ipv4 ? FamilyTcp4 : FamilyTcp6;
        BinaryPrimitives.WriteUInt16BigEndian(destination[14..], (ushort)addressLength);
        var addresses = destination[FixedLength..length];
        var size = ipv4 ? 4 : 16;
        WriteAddress(header.Source.Address, ipv4, addresses[..size]);
        WriteAddress(header.Destination.Address, ipv4, addresses[size..(2 * size)]);
        BinaryPrimitives.WriteUInt16BigEndian(addresses[(2 * size)..], (ushort)header.Source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(addresses[((2 * size) + 2)..], (ushort)header.Destination.Port);
        return length;
    }

    /// <summary>Parses a complete header at the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The bytes received so far; only the header's own bytes are looked at.</param>
    /// <param name="header">The header, when the method returns <see langword="true"/>.</param>
    /// <param name="consumed">Where the header ends (the start of the connection's own bytes); the start of <paramref name="buffer"/> when more are needed.</param>
    /// <returns><see langword="false"/> when the bytes so far are a valid beginning but more are needed.</returns>
    /// <exception cref="ProxyProtocolException">The signature, version, command, family or length is wrong; the message names the byte offset.</exception>
    public static bool TryRead(ReadOnlySequence<byte> buffer, out ProxyHeader? header, out SequencePosition consumed)
    {
        Span<byte> bytes = stackalloc byte[MaxHeaderLength];
        var available = (int)Math.Min(buffer.Length, MaxHeaderLength);
        buffer.Slice(0, available).CopyTo(bytes);
        var length = Parse(bytes[..available], out header);
        consumed = buffer.GetPosition(length);
        return header is not null;
    }

    /// <summary>Reads the header off the front of <paramref name="reader"/>; the connection's bytes after it stay buffered there.</summary>
    /// <param name="reader">The connection.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The header.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    /// <exception cref="ProxyProtocolException">The header is malformed; the message names the byte offset.</exception>
    /// <exception cref="EndOfStreamException">The connection ended before the header did.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async ValueTask<ProxyHeader> ReadAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            ProxyHeader? header;
            SequencePosition consumed;
            try
            {
                TryRead(buffer, out header, out consumed);
            }
            catch (ProxyProtocolException)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw;
            }

            if (header is not null)
            {
                reader.AdvanceTo(consumed);
                return header;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException($"the connection ended after {buffer.Length} bytes, inside its PROXY v2 header");
            }
        }
    }

    // The one parser behind both reads: the header's length when it is complete in `bytes`, else 0 with `header` null.
    private static int Parse(ReadOnlySpan<byte> bytes, out ProxyHeader? header)
    {
        header = null;
        var signature = bytes[..Math.Min(bytes.Length, Signature.Length)];
        var mismatch = signature.CommonPrefixLength(Signature);
        if (mismatch < signature.Length)
        {
            throw new ProxyProtocolException("signature", mismatch, $"0x{signature[mismatch]:X2} where the PROXY v2 signature has 0x{Signature[mismatch]:X2}");
        }

        if (bytes.Length < FixedLength)
        {
            return 0;
        }

        var version = bytes[12] >> 4;
        if (version != 2)
        {
            throw new ProxyProtocolException("version", 12, $"version {version}, expected 2");
        }

        var command = bytes[12] & 0x0F;
        if (command != (VersionCommandProxy & 0x0F))
        {
            throw new ProxyProtocolException("command", 12, $"command {command}, expected 1 (PROXY)");
        }

        var family = bytes[13];
        var addressLength = family switch
        {
            FamilyTcp4 => Tcp4AddressLength,
            FamilyTcp6 => Tcp6AddressLength,
            _ => throw new ProxyProtocolException("family", 13, $"0x{family:X2}, expected 0x11 (TCP over IPv4) or 0x21 (TCP over IPv6)"),
        };
        int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[14..]);
        if (length < addressLength || FixedLength + length > MaxHeaderLength)
        {
            throw new ProxyProtocolException(
                "length", 14, $"{length}, expected {addressLength}–{MaxHeaderLength - FixedLength} for family 0x{family:X2}");
        }

        if (bytes.Length < FixedLength + length)
        {
            return 0;
        }

        var addresses = bytes[FixedLength..];
        var size = family == FamilyTcp4 ? 4 : 16;
        header = new ProxyHeader(
            new IPEndPoint(new IPAddress(addresses[..size]), BinaryPrimitives.ReadUInt16BigEndian(addresses[(2 * size)..])),
            new IPEndPoint(new IPAddress(addresses[size..(2 * size)]), BinaryPrimitives.ReadUInt16BigEndian(addresses[((2 * size) + 2)..])));
        return FixedLength + length;
    }

    // The span is exactly the address's size, so the write cannot fall short.
    private static void WriteAddress(IPAddress address, bool ipv4, Span<byte> destination) =>
        _ = (ipv4 || address.AddressFamily == AddressFamily.InterNetworkV6 ? address : address.MapToIPv6()).TryWriteBytes(destination, out _);
}
