using Cloister.Testing;

namespace Cloister.Cli.Tests;

/// <summary>
/// The README's main job, end to end with nothing stubbed: the sample is published, packed and built, a provisioner is
/// started and given the sample's measurements and a secret, the sample is run in the simulator with the real
/// supervisor, and checked (reproducible PCRs, the secret provisioned, the deployment CA's chain, ingress, egress allowed
/// and refused, attestation with the build's PCRs, isolation, SIGTERM). The script checks each step and exits non-zero
/// if one fails.
/// </summary>
public sealed class MainJobTests
{
    [Fact]
    public void The_readme_main_job_passes_every_check()
    {
        ExternalTool.Require("bwrap", "bubblewrap");

        // A cold run builds the CLI, the supervisor and the sample with NativeAOT before it starts the enclave: about
        // 5 minutes on 2 busy cores while the other test classes build too (8 minutes were once not enough); a warm
        // run takes under 30 s. The limit only turns a hang into a failure.
        var result = ExternalTool.Capture(
            Path.Combine(RepositoryPaths.Root, "samples", "hello", "demo.sh"), [], timeout: TimeSpan.FromMinutes(15));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("15 checks passed, 0 failed", result.Stdout, StringComparison.Ordinal);
    }
}
