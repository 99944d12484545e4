using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cloister.Runtime.Nsm;

/// <summary>The real NSM: <c>/dev/nsm</c> inside a Nitro enclave, one <c>NSM_IOCTL_RAW</c> ioctl per exchange.</summary>
public sealed class NsmKernelDevice : NsmDevice
{
    /// <summary>Where the NSM driver puts its device.</summary>
    public const string DefaultPath = "/dev/nsm";

    private readonly SafeFileHandle _handle;

    private NsmKernelDevice(SafeFileHandle handle)
    {
        _handle = handle;
    }

    /// <summary>Opens the device.</summary>
    /// <param name="path">The device node.</param>
    /// <returns>The device.</returns>
    /// <exception cref="FileNotFoundException">There is no such device: not inside an enclave, or the driver is not loaded.</exception>
    /// <exception cref="UnauthorizedAccessException">The device needs privileges this process lacks.</exception>
    /// <exception cref="IOException">Opening failed.</exception>
    public static NsmKernelDevice Open(string path = DefaultPath) =>
        new(File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite));

    /// <summary>Releases the device handle.</summary>
    /// <param name="disposing">Whether managed state may be touched.</param>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _handle.Dispose();
        }

        base.Dispose(disposing);
    }

    // The driver answers within the ioctl, so there is nothing to await; the work runs on the caller's thread.
    private protected override ValueTask<int> ExchangeCoreAsync(ReadOnlyMemory<byte> request, Memory<byte> response, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Exchange(request.Span, response.Span));

    private unsafe int Exchange(ReadOnlySpan<byte> request, Span<byte> response)
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            fixed (byte* requestPointer = request)
            fixed (byte* responsePointer = response)
            {
                var raw = new NsmRaw
                {
                    Request = new NsmIovec { Address = (ulong)requestPointer, Length = (ulong)request.Length },
                    Response = new NsmIovec { Address = (ulong)responsePointer, Length = (ulong)response.Length },
                };
                if (NsmInterop.Ioctl((int)_handle.DangerousGetHandle(), NsmRaw.IoctlRaw, &raw) < 0)
                {
                    throw NsmInterop.ToException(Marshal.GetLastPInvokeError(), request.Length);
                }

                return checked((int)raw.Response.Length);
            }
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }
}
