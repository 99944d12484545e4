using Cloister.Build.Supervisor;
using Cloister.Testing;

namespace Cloister.Enclave.Tests.Sandbox;

/// <summary>
/// Publishes <c>cloister-enclave</c> with NativeAOT once per test run and bundles it, as <c>cloister build</c> will.
/// The publish uses its own artifacts directory, so it never races the solution build over shared obj/ folders,
/// and a second run is incremental.
/// </summary>
public sealed class PublishedSupervisorFixture
{
    public PublishedSupervisorFixture()
    {
        var artifacts = Path.Combine(RepositoryPaths.Root, "artifacts", "enclave-tests");
        var output = Path.Combine(artifacts, "publish");
        var project = Path.Combine(RepositoryPaths.Root, "src", "Cloister.Enclave", "Cloister.Enclave.csproj");
        var publish = ExternalTool.Capture("dotnet", ["publish", project, "-r", "linux-x64", "-c", "Release", "--nologo", "-nodeReuse:false", "--artifacts-path", artifacts, "-o", output], timeout: ExternalTool.PublishTimeout);
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish of the supervisor failed:\n{publish}");
        }

        Executable = Path.Combine(output, "cloister-enclave");
        Bundle = SupervisorBundle.Create(Executable);
    }

    public string Executable { get; }

    public SupervisorBundle Bundle { get; }
}

[CollectionDefinition(Name)]
public sealed class PublishedSupervisorDefinition : ICollectionFixture<PublishedSupervisorFixture>
{
    public const string Name = "published supervisor";
}
