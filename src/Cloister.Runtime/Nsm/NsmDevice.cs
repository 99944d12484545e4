using System.Buffers;

namespace Cloister.Runtime.Nsm;

/// <summary>
/// The Nitro Secure Module as a byte pipe: one CBOR request in, one CBOR response out. Encoding the requests is
/// <c>Cloister.Attestation</c>'s job; this moves the bytes, to <c>/dev/nsm</c> or to the simulator's NSM socket.
/// </summary>
public abstract class NsmDevice : IDisposable
{
    /// <summary>The largest request the NSM accepts (the driver's and the virtio device's 4 KiB limit).</summary>
    public const int MaxRequestLength = 0x1000;

    /// <summary>The largest response the NSM produces; response buffers must be at least this long.</summary>
    public const int MaxResponseLength = 0x3000;

    private bool _disposed;

    private protected NsmDevice()
    {
    }

    /// <summary>Sends one request and receives its response.</summary>
    /// <param name="request">The CBOR request, at most <see cref="MaxRequestLength"/> bytes.</param>
    /// <param name="response">Receives the CBOR response; at least <see cref="MaxResponseLength"/> bytes, so no answer is ever cut.</param>
    /// <param name="cancellationToken">Cancels the exchange; a cancelled exchange may leave a socket device unusable.</param>
    /// <returns>The length of the response.</returns>
    /// <exception cref="NsmDeviceException">The request is too large (<see cref="NsmDeviceError.InputTooLarge"/>) or the device failed.</exception>
    /// <exception cref="ArgumentException"><paramref name="response"/> is shorter than <see cref="MaxResponseLength"/>.</exception>
    /// <exception cref="ObjectDisposedException">The device is disposed.</exception>
    /// <exception cref="IOException">The simulator's socket broke or ended mid-answer (<see cref="EndOfStreamException"/>).</exception>
    /// <exception cref="InvalidDataException">The simulator's answer frame announced more than <see cref="MaxResponseLength"/> bytes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<int> ExchangeAsync(ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (request.Length > MaxRequestLength)
        {
            throw new NsmDeviceException(NsmDeviceError.InputTooLarge, $"input too large: the request is {request.Length} bytes, the NSM accepts at most {MaxRequestLength}");
        }

        if (response.Length < MaxResponseLength)
        {
            throw new ArgumentException($"the response buffer is {response.Length} bytes; the NSM may answer up to {MaxResponseLength}", nameof(response));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return ExchangeCoreAsync(request, response, cancellationToken);
    }

    /// <summary>Sends one request and returns its response as a new array.</summary>
    /// <param name="request">The CBOR request, at most <see cref="MaxRequestLength"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <returns>The CBOR response.</returns>
    /// <exception cref="NsmDeviceException">The request is too large or the device failed.</exception>
    /// <exception cref="ObjectDisposedException">The device is disposed.</exception>
    /// <exception cref="IOException">The simulator's socket broke or ended mid-answer (<see cref="EndOfStreamException"/>).</exception>
    /// <exception cref="InvalidDataException">The simulator's answer frame announced more than <see cref="MaxResponseLength"/> bytes.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<byte[]> ExchangeAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken = default)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxResponseLength);
        try
        {
            var length = await ExchangeAsync(request, buffer, cancellationToken);
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the device.</summary>
    /// <param name="disposing">Whether managed state may be touched.</param>
    protected virtual void Dispose(bool disposing) => _disposed = true;

    private protected abstract ValueTask<int> ExchangeCoreAsync(ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken);
}
