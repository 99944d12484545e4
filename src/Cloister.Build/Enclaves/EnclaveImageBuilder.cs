using System.Text;
using System.Text.Json;
using Cloister.Build.Cpio;
using Cloister.Build.Eif;
using Cloister.Build.Images;
using Cloister.Build.Layers;
using Cloister.Build.Manifests;
using Cloister.Build.Ramdisks;
using Cloister.Build.RuntimeBundles;
using Cloister.Build.Streams;
using Cloister.Build.Supervisor;
using Cloister.Runtime.Files;
using Cloister.Runtime.Manifest;

namespace Cloister.Build.Enclaves;

/// <summary>
/// <c>cloister build</c>: turns a manifest's container image into an EIF. The image's layers are verified and
/// flattened, the customer ramdisk is laid out exactly as nitro-cli's (plus <c>/cloister/</c> unless the runtime is
/// <see cref="EnclaveRuntime.None"/>), the bootstrap ramdisk comes from the blobs, and the EIF is measured as written.
/// </summary>
/// <remarks>
/// Without blobs the image is simulation-only: an empty kernel section and <see cref="SimulationOnlyCmdline"/> as the
/// command line — both measured into PCR0/PCR1, so no such image can pass for a bootable one — and
/// <c>CustomMetadata.cloister.simulation_only</c> set. Nothing is ever invented in place of AWS's kernel or init.
/// </remarks>
public static class EnclaveImageBuilder
{
    /// <summary>The kernel command line of a simulation-only image.</summary>
    public const string SimulationOnlyCmdline = "cloister.simulation_only=1";

    /// <summary>Builds the EIF and <c>measurements.json</c>.</summary>
    /// <param name="manifest">The validated manifest.</param>
    /// <param name="options">Where to write, the blobs, the runtime and the rest.</param>
    /// <param name="progress">Receives a report per step and per layer; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the build; partial outputs are removed.</param>
    /// <returns>The paths and measurements.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The Cloister runtime was asked for and no runtime bundle was given.</exception>
    /// <exception cref="EnclaveBuildException">
    /// The manifest sets a section this version does not build yet (<see cref="UnbuiltSections"/>), the image names
    /// nothing to run, the blobs are for another architecture, or their kernel is empty.
    /// </exception>
    /// <exception cref="ImageSourceException">The image cannot be resolved, fetched or verified.</exception>
    /// <exception cref="LayerException">A layer is hostile, truncated or malformed.</exception>
    /// <exception cref="RuntimeBundleException">
    /// The runtime bundle's file was modified in place after it was checked (<see cref="RuntimeBundleError.ChangedAfterCheck"/>):
    /// nothing is written, since the ramdisk holding its files is only a temporary file until then.
    /// </exception>
    /// <exception cref="IOException">Reading or writing failed.</exception>
    public static async Task<EnclaveBuildResult> BuildAsync(
        EnclaveManifest manifest, EnclaveBuildOptions options, IProgress<EnclaveBuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Runtime == EnclaveRuntime.Cloister && options.RuntimeBundle is null)
        {
            throw new ArgumentException("the Cloister runtime needs a runtime bundle", nameof(options));
        }

        // The CLI refuses these with their line and column; a manifest built in code must not slip past either.
        if (UnbuiltSections.In(manifest) is { Count: > 0 } unbuilt)
        {
            throw new EnclaveBuildException(string.Join("; ", unbuilt));
        }

        var reference = ImageReference.Parse(ResolveLocalPath(manifest.Image, options.BaseDirectory));
        progress?.Report(new EnclaveBuildProgress(EnclaveBuildStage.ResolvingImage, 0, 0, 0, reference.Text));
        using var source = ImageSource.Create(reference, options.Registry);
        var image = await source.ResolveAsync(options.Platform, cancellationToken);
        var architecture = image.Configuration.Platform?.Architecture == "arm64" ? EifArchitecture.Arm64 : EifArchitecture.X64;
        if (options.Blobs is { } blobs && blobs.Architecture != architecture)
        {
            throw new EnclaveBuildException($"the image is {image.Configuration.Platform} but the blobs in {blobs.Directory} are for {blobs.Architecture}");
        }

        // Everything decided from the manifest and the image's config comes before the first layer is read.
        var ramdiskOptions = RamdiskOptions(manifest, image, options);
        var work = Directory.CreateDirectory(Path.Combine(Path.GetFullPath(options.TemporaryDirectory), $"cloister-build-{Guid.NewGuid():N}")).FullName;
        try
        {
            using var flattener = new LayerFlattener(new LayerFlattenerOptions { TemporaryDirectory = work });
            for (var i = 0; i < image.Layers.Count; i++)
            {
                var layer = image.Layers[i];
                var report = new EnclaveBuildProgress(EnclaveBuildStage.ApplyingLayer, i + 1, image.Layers.Count, 0, layer.Descriptor.Digest);
                progress?.Report(report);
                await using var stream = new CountingReadStream(
                    await layer.OpenAsync(cancellationToken), bytes => progress?.Report(report with { Bytes = bytes }), ownsInner: true);
                await flattener.ApplyLayerAsync(stream, $"{layer.Descriptor.Digest}", cancellationToken);
            }

            progress?.Report(new EnclaveBuildProgress(EnclaveBuildStage.WritingRamdisks, 0, 0, 0, "bootstrap and customer ramdisks"));
            var bootstrap = Path.Combine(work, "bootstrap.cpio");
            WriteBootstrapRamdisk(bootstrap, options.Blobs);
            var customer = Path.Combine(work, "customer.cpio");
            using (var output = File.Create(customer))
            {
                CustomerRamdiskLayout.Write(output, flattener, ramdiskOptions);
            }

            progress?.Report(new EnclaveBuildProgress(EnclaveBuildStage.WritingImage, 0, 0, 0, manifest.Name));
            return await WriteImageAsync(manifest, image, options, architecture, bootstrap, customer, cancellationToken);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// Makes a relative <c>oci-layout:</c> or <c>docker-archive:</c> path absolute against <paramref name="baseDirectory"/>
    /// (the manifest's directory), so a manifest means the same wherever the build is started from.
    /// </summary>
    /// <param name="image">The image reference as written.</param>
    /// <param name="baseDirectory">The directory relative paths are relative to.</param>
    /// <returns>The reference with an absolute path, or unchanged for registry references.</returns>
    public static string ResolveLocalPath(string image, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(baseDirectory);
        foreach (var prefix in (ReadOnlySpan<string>)["oci-layout:", "docker-archive:"])
        {
            if (image.StartsWith(prefix, StringComparison.Ordinal))
            {
                // As skopeo does, the path runs to the first ':' after the transport; the rest is the tag or digest.
                var rest = image[prefix.Length..];
                var colon = rest.IndexOf(':', StringComparison.Ordinal);
                var path = colon < 0 ? rest : rest[..colon];
                var suffix = colon < 0 ? "" : rest[colon..];
                return prefix + Path.GetFullPath(path, Path.GetFullPath(baseDirectory)) + suffix;
            }
        }

        return image;
    }

    private static CustomerRamdiskOptions RamdiskOptions(EnclaveManifest manifest, ContainerImage image, EnclaveBuildOptions options)
    {
        var config = image.Configuration;
        var spec = new EnclaveLaunchSpec
        {
            Manifest = manifest,
            Image = new ImageRunConfig
            {
                Entrypoint = config.Entrypoint,
                Cmd = config.Cmd,
                Env = config.Env,
                WorkingDir = config.WorkingDir ?? "",
                User = config.User ?? "",
            },
        };
        IReadOnlyList<string> arguments;
        try
        {
            arguments = spec.ResolveArguments();
        }
        catch (InvalidOperationException ex)
        {
            throw new EnclaveBuildException(ex.Message, ex);
        }

        if (options.Runtime == EnclaveRuntime.None)
        {
            // Without overrides, nitro-cli's own rule (Cmd, else Entrypoint) keeps PCR2 identical to nitro-cli's;
            // with them, the enclave runs what the manifest asks for, Docker's way.
            return manifest.Entrypoint is null && manifest.Cmd is null && manifest.Env.Count == 0
                ? CustomerRamdiskOptions.FromImageConfig(
                    config.Cmd.Count > 0 ? config.Cmd : null, config.Entrypoint.Count > 0 ? config.Entrypoint : null, config.Env)
                : new CustomerRamdiskOptions { Command = arguments, Environment = spec.ResolveEnvironment() };
        }

        var mtime = options.AddedFilesModificationTime;
        var entries = options.RuntimeBundle!.Entries
            .Select(entry => entry.IsDirectory
                ? RamdiskEntry.Directory("rootfs/" + entry.Path, entry.Mode, 0, 0, mtime)
                : RamdiskEntry.File("rootfs/" + entry.Path, entry.OpenRead, entry.Length, entry.Mode, 0, 0, mtime))
            .Append(RamdiskEntry.File("rootfs" + EnclavePaths.LaunchSpec, EnclaveLaunchSpecJson.Serialize(spec), (UnixFileMode)0b110_100_100, 0, 0, mtime))
            .ToList();
        return new CustomerRamdiskOptions
        {
            Command = SupervisorBundle.Command(),
            Environment = SupervisorBundle.Environment,
            SupervisorEntries = entries,
        };
    }

    private static void WriteBootstrapRamdisk(string path, NitroBlobs? blobs)
    {
        using var output = File.Create(path);
        if (blobs is not null)
        {
            BootstrapRamdisk.WriteFromBlobs(output, blobs.Directory);
            return;
        }

        // No init and no driver: the simulator starts the customer ramdisk's cmd itself.
        using var writer = new CpioWriter(output, leaveOpen: true);
        writer.WriteDirectory("dev", 0b111_101_101);
        writer.Finish();
    }

    private static async Task<EnclaveBuildResult> WriteImageAsync(
        EnclaveManifest manifest, ContainerImage image, EnclaveBuildOptions options, EifArchitecture architecture,
        string bootstrap, string customer, CancellationToken cancellationToken)
    {
        var blobs = options.Blobs;
        var (operatingSystem, kernelVersion) = blobs?.KernelConfigPath is { } config
            ? EifMetadata.ReadKernelConfig(new StringReader(Encoding.UTF8.GetString(
                await BoundedFile.ReadAllBytesAsync(config, FileSizeLimits.KernelConfig, "the blobs kernel config", cancellationToken))))
            : blobs is null ? ("none", "none") : ("Linux", "unknown");
        var imageDigest = image.Config.Digest;
        var metadata = new EifMetadata
        {
            ImageName = manifest.Name,
            ImageVersion = imageDigest.StartsWith("sha256:", StringComparison.Ordinal) ? imageDigest["sha256:".Length..] : imageDigest,
            BuildTime = EifMetadata.FormatBuildTime(options.BuildTime),
            BuildTool = EifMetadata.CloisterBuildTool,
            BuildToolVersion = EifMetadata.CloisterVersion,
            OperatingSystem = operatingSystem,
            KernelVersion = kernelVersion,
            CustomMetadata = CustomMetadata(manifest, image, options),
        };

        Directory.CreateDirectory(options.OutputDirectory);
        var eifPath = Path.Combine(options.OutputDirectory, manifest.Name + ".eif");
        await using var kernel = blobs is null ? new MemoryStream() : (Stream)OpenBlobsKernel(blobs);
        await using var bootstrapStream = File.OpenRead(bootstrap);
        await using var customerStream = File.OpenRead(customer);
        var builder = new EifBuilder(kernel, blobs?.ReadCmdline() ?? SimulationOnlyCmdline, metadata)
        {
            Architecture = architecture,
            Signer = options.Signer,
        };
        builder.AddRamdisk(bootstrapStream);
        builder.AddRamdisk(customerStream);
        var measurements = AtomicFile.Write(eifPath, builder.WriteTo);

        var measurementsPath = Path.Combine(options.OutputDirectory, "measurements.json");
        var measurementsJson = EnclaveMeasurementsJson.Write(measurements, RuntimeOf(options), options.HashAlgorithm);
        await File.WriteAllTextAsync(measurementsPath, measurementsJson + "\n", cancellationToken);
        return new EnclaveBuildResult(eifPath, measurementsPath, measurements, blobs is null, imageDigest, measurementsJson);
    }

    private static FileStream OpenBlobsKernel(NitroBlobs blobs)
    {
        var kernel = StreamedFile.OpenRead(blobs.KernelPath, "the blobs kernel");
        if (kernel.Length == 0)
        {
            kernel.Dispose();
            throw new EnclaveBuildException($"the blobs kernel {blobs.KernelPath} is empty: an enclave needs a kernel to boot");
        }

        return kernel;
    }

    private static JsonElement CustomMetadata(EnclaveManifest manifest, ContainerImage image, EnclaveBuildOptions options)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("cloister");
            json.WriteString("image", manifest.Image);
            json.WriteString("image_config_digest", image.Config.Digest);
            if (image.ManifestDigest is { } manifestDigest)
            {
                json.WriteString("image_manifest_digest", manifestDigest);
            }

            json.WriteString("runtime", options.Runtime == EnclaveRuntime.None ? "none" : "cloister");
            if (RuntimeOf(options) is { } runtime)
            {
                json.WriteString("runtime_digest", runtime.Digest);
                json.WriteString("runtime_version", runtime.Provenance.Version);
            }

            json.WriteBoolean("simulation_only", options.Blobs is null);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static RuntimeBundle? RuntimeOf(EnclaveBuildOptions options) => options.Runtime == EnclaveRuntime.Cloister ? options.RuntimeBundle : null;
}
