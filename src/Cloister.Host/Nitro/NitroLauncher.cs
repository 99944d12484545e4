using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Host.Simulation;
using Cloister.Host.Supervision;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Nitro;

/// <summary>Prepares an EIF to run on Nitro hardware through <c>nitro-cli</c>.</summary>
public static class NitroLauncher
{
    /// <summary>Checks the image and reads its launch spec; <see cref="HostedEnclave.StartAsync"/> then runs it.</summary>
    /// <param name="options">The image and the enclave's size.</param>
    /// <param name="nitroCli">Drives nitro-cli.</param>
    /// <returns>The prepared enclave; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The image does not exist.</exception>
    /// <exception cref="EifFormatException">The image is corrupt (structure or CRC).</exception>
    /// <exception cref="EnclaveLaunchException">The image is simulation-only.</exception>
    /// <exception cref="InvalidDataException">The launch spec in the image is invalid.</exception>
    /// <exception cref="IOException">Reading failed.</exception>
    public static NitroEnclave Prepare(NitroOptions options, NitroCli nitroCli) =>
        Prepare(options, nitroCli, VsockTransport.Create(new VsockTransportOptions { Kind = VsockTransportKind.Native }));

    // Tests pass the simulated transport: AF_VSOCK is never opened on machines without Nitro.
    internal static NitroEnclave Prepare(NitroOptions options, NitroCli nitroCli, VsockTransport hostTransport)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(nitroCli);
        using var image = EifReader.Open(options.ImagePath);
        EifMeasurements measurements;
        using (var inspection = image.Inspect())
        {
            inspection.ThrowIfCrcMismatch();
            measurements = inspection.Measurements;
        }

        if (SimulationOnlyImage.FindReason(image) is { } reason)
        {
            throw new EnclaveLaunchException(
                $"{options.ImagePath} is simulation-only: {reason}. Nitro cannot boot it; rebuild it with the Nitro blobs (cloister build --blobs), or run it with --simulate");
        }

        return new NitroEnclave(options, nitroCli, hostTransport, measurements, ReadLaunchSpec(image));
    }

    private static EnclaveLaunchSpec? ReadLaunchSpec(EifReader image)
    {
        // The customer ramdisk is the last one; only the launch spec is read, nothing is unpacked.
        if (image.Sections.LastOrDefault(s => s.Type == EifSectionType.Ramdisk) is not { Size: > 0 } customer)
        {
            return null;
        }

        using var reader = new CpioReader(image.OpenSection(customer));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.Name == UnpackedEnclaveImage.LaunchSpecInRoot && entry.DataStream is { } data)
            {
                if (entry.Size > FileSizeLimits.Json)
                {
                    throw new InvalidDataException($"{entry.Name} is {entry.Size} bytes, more than the {FileSizeLimits.Json >> 20} MiB limit for a launch spec");
                }

                using var json = new MemoryStream();
                data.CopyTo(json);
                return UnpackedEnclaveImage.ParseLaunchSpec(json.ToArray());
            }
        }

        return null;
    }
}
