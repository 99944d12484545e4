using Cloister.Testing;

namespace Cloister.Cli.Tests;

/// <summary>
/// The README's main job, end to end with nothing stubbed: the sample is published, packed and built, run in the
/// simulator with the real supervisor, and checked (ingress, egress allowed and refused, attestation with the build's
/// PCRs, isolation, SIGTERM). The script checks each step and exits non-zero if one fails.
/// </summary>
public sealed class MainJobTests
{
    [Fact]
    public void The_readme_main_job_passes_every_check()
    {
        ExternalTool.Require("bwrap", "bubblewrap");

        // A cold run builds the CLI, the supervisor and the sample with NativeAOT before it starts the enclave.
        var result = ExternalTool.Capture(
            Path.Combine(RepositoryPaths.Root, "samples", "hello", "demo.sh"), [], timeout: TimeSpan.FromMinutes(8));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("13 checks passed, 0 failed", result.Stdout, StringComparison.Ordinal);
    }
}
