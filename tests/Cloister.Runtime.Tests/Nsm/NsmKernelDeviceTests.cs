using System.Runtime.InteropServices;
using Cloister.Runtime.Nsm;

namespace Cloister.Runtime.Tests.Nsm;

public sealed class NsmKernelDeviceTests
{
    [Fact]
    public void Nsm_raw_has_the_kernel_layout()
    {
        Assert.Equal(16, Marshal.SizeOf<NsmIovec>());
        Assert.Equal(0, (int)Marshal.OffsetOf<NsmIovec>(nameof(NsmIovec.Address)));
        Assert.Equal(8, (int)Marshal.OffsetOf<NsmIovec>(nameof(NsmIovec.Length)));
        Assert.Equal(NsmRaw.Size, Marshal.SizeOf<NsmRaw>());
        Assert.Equal(0, (int)Marshal.OffsetOf<NsmRaw>(nameof(NsmRaw.Request)));
        Assert.Equal(16, (int)Marshal.OffsetOf<NsmRaw>(nameof(NsmRaw.Response)));
    }

    [Fact]
    public void The_ioctl_number_is_iowr_0x0a_0_of_32_bytes() =>
        Assert.Equal((nuint)0xC0200A00u, NsmRaw.IoctlRaw);

    [Fact]
    public void Emsgsize_means_input_too_large()
    {
        var ex = NsmInterop.ToException(90, 5000);

        Assert.Equal(NsmDeviceError.InputTooLarge, ex.Error);
        Assert.Contains("input too large", ex.Message, StringComparison.Ordinal);
        Assert.Contains("5000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_errnos_are_driver_failures_naming_the_errno()
    {
        var ex = NsmInterop.ToException(5, 10);

        Assert.Equal(NsmDeviceError.DriverFailure, ex.Error);
        Assert.Contains("errno 5", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_ioctl_reaches_the_kernel_and_its_errno_comes_back()
    {
        // /dev/null knows no ioctls: the kernel answers ENOTTY, which proves the P/Invoke, the struct and the errno path.
        using var device = NsmKernelDevice.Open("/dev/null");

        var ex = await Assert.ThrowsAsync<NsmDeviceException>(() => device.ExchangeAsync(new byte[] { 0x6b }).AsTask());

        Assert.Equal(NsmDeviceError.DriverFailure, ex.Error);
        Assert.Contains("errno 25", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_a_missing_device_says_so()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-nsm-{Guid.NewGuid():N}");

        Assert.Throws<FileNotFoundException>(() => NsmKernelDevice.Open(missing));
    }
}
