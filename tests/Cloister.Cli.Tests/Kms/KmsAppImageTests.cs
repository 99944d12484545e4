using System.Diagnostics;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Cloister.Build.RuntimeBundles;
using Cloister.Testing;
using Xunit.Abstractions;

namespace Cloister.Cli.Tests.Kms;

/// <summary>
/// The KMS test apps start inside the simulated enclave: images built by <see cref="KmsAppImage"/> with the real
/// supervisor, run by <c>cloister run</c> in bubblewrap, where the apps have only what the image brought.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class KmsAppImageTests : IClassFixture<KmsAppImageTests.Images>
{
    private readonly Images _images;
    private readonly ITestOutputHelper _output;

    public KmsAppImageTests(Images images, ITestOutputHelper output)
    {
        _images = images;
        _output = output;
    }

    [Fact]
    public void The_js_app_runs_on_the_images_node_with_the_sdk_and_reads_the_ca_file_put_in_the_image()
    {
        var run = _images.Run(_images.Js);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(Regex.IsMatch(run.Stdout, @"(?m)^KMS js READY node=v\d+\.\d+\.\d+ sdk=3\.\d+\.\d+ crypto=yes\r?$"), run.ToString());
        // node reads NODE_EXTRA_CA_CERTS as it starts and warns when it cannot load it.
        Assert.DoesNotContain("Ignoring extra certs", run.Stdout + run.Stderr, StringComparison.Ordinal);
        _output.WriteLine(_images.Timings);
    }

    [Fact]
    public void The_dotnet_app_runs_from_the_image_with_the_sdk_and_openssl()
    {
        var run = _images.Run(_images.Dotnet);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(Regex.IsMatch(run.Stdout, @"(?m)^KMS dotnet READY runtime=10\.\d+\.\d+ sdk=4\.\d+\.\d+\.\d+ crypto=yes\r?$"), run.ToString());
        _output.WriteLine(_images.Timings);
    }

    /// <summary>One EIF per app, from one layout; the JS one also carries a CA file, as the KMS tests' images will.</summary>
    public sealed class Images : IDisposable
    {
        private readonly TempRunDirectory _directory = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public Images()
        {
            ExternalTool.Require("bwrap", "bubblewrap");
            using var runtime = RuntimeBundle.Read(Path.Combine(AppContext.BaseDirectory, "runtime", RuntimeBundle.FileName));
            var caFile = Path.Combine(_directory.Path, "kms-ca.pem");
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            {
                var request = new CertificateRequest("CN=Cloister test KMS CA", key, HashAlgorithmName.SHA256);
                request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
                using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
                File.WriteAllText(caFile, ca.ExportCertificatePem());
            }

            Js = Build("js", runtime, KmsAppImage.JsCommand("--version-check"), new KmsAppImageOptions
            {
                Name = "kms-app-js",
                Env = new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = "/etc/kms-ca.pem" },
                Files = new Dictionary<string, string> { ["/etc/kms-ca.pem"] = caFile },
            });
            Dotnet = Build("dotnet", runtime, KmsAppImage.DotnetCommand("--version-check"), new KmsAppImageOptions { Name = "kms-app-dotnet" });
        }

        public string Js { get; }

        public string Dotnet { get; }

        /// <summary>How long the layout and each EIF took (the test output shows it, to keep the suite's budget in sight).</summary>
        public string Timings { get; private set; } = "";

        internal ProcessResult Run(string image)
        {
            var started = _clock.Elapsed;
            var run = CliRunner.Run("run", image, "--sim-root", Path.Combine(_directory.Path, "sim"), "--grace-period", "1");
            Timings += $"cloister run {Path.GetFileName(image)}: {(_clock.Elapsed - started).TotalSeconds:F1} s\n";
            return run;
        }

        public void Dispose() => _directory.Dispose();

        private string Build(string name, RuntimeBundle runtime, string[] cmd, KmsAppImageOptions options)
        {
            var started = _clock.Elapsed;
            var output = Path.Combine(_directory.Path, name);
            var build = KmsAppImage.BuildEifAsync(output, runtime, cmd, options).GetAwaiter().GetResult();
            Timings += $"build {name} (the first includes the layout and the .NET publish): {(_clock.Elapsed - started).TotalSeconds:F1} s\n";
            return build.ImagePath;
        }
    }
}
