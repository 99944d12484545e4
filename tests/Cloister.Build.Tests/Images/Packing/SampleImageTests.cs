using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text.Json;
using Cloister.Build.Images;
using Cloister.Build.Images.Packing;
using Cloister.Testing;

namespace Cloister.Build.Tests.Images.Packing;

/// <summary>Publishes <c>samples/hello</c> (NativeAOT) once for the tests that need it, and packs it as build.sh does.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class PublishedSample : IDisposable
{
    public PublishedSample()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("cloister-sample-").FullName;
        var publish = Path.Combine(Directory, "publish");
        var project = Path.Combine(RepositoryPaths.Root, "samples", "hello", "Hello.csproj");
        var result = ExternalTool.Capture("dotnet", ["publish", project, "-c", "Release", "-o", publish, "--nologo"], timeout: ExternalTool.PublishTimeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish {project} failed: {result}");
        }

        Executable = Path.Combine(publish, "hello");
        Layout = Path.Combine(Directory, "image");
        // The options samples/hello/build.sh passes to `cloister image pack`.
        Image = ImagePacker.Pack(
            new ImagePackOptions
            {
                Executable = Executable,
                WithOpenSsl = true,
                WithCaCertificates = true,
                WorkingDir = "/app",
                User = ImageUser.Parse("1000:1000"),
                Env = ["PORT=8080"],
                ExposedPorts = [ExposedPort.Parse("8080")],
            },
            ImageReference.Parse($"oci-layout:{Layout}:latest"));
    }

    public string Directory { get; }

    public string Executable { get; }

    public string Layout { get; }

    public ImagePackResult Image { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>
/// The packed sample is self-sufficient: unpacked by umoci and run in bubblewrap with nothing of this machine's
/// <c>/usr</c> or <c>/lib</c> bound in, as the image's user in its working directory, it answers HTTP and exits with
/// the code it is asked for.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SampleImageTests(PublishedSample sample) : IClassFixture<PublishedSample>
{
    [Fact]
    public async Task The_packed_sample_answers_in_a_sandbox_that_holds_only_its_image()
    {
        var bwrap = ExternalTool.Require("bwrap", "bubblewrap");
        var bundle = Path.Combine(sample.Directory, "bundle-" + Guid.NewGuid().ToString("N"));
        ExternalTool.Umoci("unpack", "--image", $"{sample.Layout}:latest", bundle);
        var port = FreePort();
        var info = new ProcessStartInfo(bwrap) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "--bind", Path.Combine(bundle, "rootfs"), "/", "--proc", "/proc", "--dev", "/dev",
            "--unshare-pid", "--unshare-user", "--uid", "1000", "--gid", "1000", "--die-with-parent",
            "--chdir", "/app", "--clearenv", "--setenv", "PORT", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "/app/hello",
        })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            using var greeting = JsonDocument.Parse(await GetWhenListeningAsync(http, "/", process));
            var root = greeting.RootElement;
            Assert.Equal(1000u, root.GetProperty("uid").GetUInt32());
            Assert.Equal(1000u, root.GetProperty("gid").GetUInt32());
            Assert.Equal("/app", root.GetProperty("working_directory").GetString());

            Assert.Equal("exiting with 3\n", await http.GetStringAsync(new Uri("/crash?code=3", UriKind.Relative)));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 3, $"exit {process.ExitCode}\n{await stdout}\n{await stderr}");
            Assert.Contains("hello: crash requested, exiting with 3", await stdout, StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task The_sample_image_runs_as_its_user_in_its_working_directory()
    {
        using var source = new OciLayoutImageSource(ImageReference.Parse($"oci-layout:{sample.Layout}:latest"));
        var image = await source.ResolveAsync();

        Assert.Equal("1000:1000", image.Configuration.User);
        Assert.Equal("/app", image.Configuration.WorkingDir);
        Assert.Equal(["/app/hello"], image.Configuration.Entrypoint);
        Assert.Equal(["PORT=8080"], image.Configuration.Env);
        Assert.Contains(sample.Image.Entries, e => e.Path == "lib/x86_64-linux-gnu/libssl.so.3");
    }

    private static async Task<string> GetWhenListeningAsync(HttpClient http, string path, Process process)
    {
        // Readiness, not timing: poll until the app listens, failing at once if it died.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Assert.False(process.HasExited, $"the sample exited with {(process.HasExited ? process.ExitCode : 0)} before answering");
            try
            {
                return await http.GetStringAsync(new Uri(path, UriKind.Relative), deadline.Token);
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary><c>samples/hello/enclave.yaml</c> is a valid manifest that names what the sample's tests rely on.</summary>
public sealed class SampleManifestTests
{
    [Fact]
    public void The_sample_manifest_serves_attested_tls_on_8443_and_passthrough_on_8080_allows_the_test_egress_host_and_turns_on_attestation()
    {
        var path = Path.Combine(RepositoryPaths.Root, "samples", "hello", "enclave.yaml");
        var manifest = Cloister.Build.Manifests.EnclaveManifestReader.Parse(File.ReadAllText(path), path);

        Assert.Equal("hello", manifest.Name);
        Assert.Equal("oci-layout:./image:latest", manifest.Image);
        Assert.Equal(
            [(8443, 8080, Cloister.Runtime.Manifest.IngressTls.Attested), (8080, 8080, Cloister.Runtime.Manifest.IngressTls.Passthrough)],
            manifest.Ingress.Select(port => (port.Port, port.AppPort, port.Tls)));
        Assert.Equal(["localhost"], manifest.Ingress[0].Hostnames);
        Assert.Contains("127.0.0.2", manifest.Egress.Allow);
        Assert.DoesNotContain("127.0.0.3", manifest.Egress.Allow);
        Assert.True(manifest.Api.Attestation);
    }
}
