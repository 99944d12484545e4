using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Cloister.Build.Enclaves;
using Cloister.Testing;

namespace Cloister.Build.Tests.Portability;

/// <summary>
/// <c>cloister build</c> must work wherever .NET runs (docs/build.md, "Builds on any OS"). Only Linux can be tried
/// here, so these check the property that makes it true: the build path calls nothing bound to one OS. The platform
/// analyzer (CA1416, an error in this repository) refuses any call to an OS-specific API from a method not marked for
/// that OS, so a build path with no such marks has no such calls; native bindings bypass the analyzer and are checked
/// by name.
/// </summary>
public sealed class BuildPathPortabilityTests
{
    // What image pack and writing a bundle to disk use; neither is on the path from a manifest to an EIF.
    private static readonly string[] s_notOnTheBuildPath = ["Cloister.Build.Images.Packing", "Cloister.Build.Supervisor"];

    // Shipped in .NET's shared framework on Linux, macOS and Windows alike.
    private static readonly string[] s_portableLibraries = ["System.IO.Compression.Native"];

    private static Assembly Build => typeof(EnclaveImageBuilder).Assembly;

    [Fact]
    public void No_type_or_member_on_the_build_path_is_marked_for_one_operating_system()
    {
        var marked = Build.GetTypes()
            .Where(type => !s_notOnTheBuildPath.Contains(type.Namespace))
            .SelectMany(type => type.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Cast<MemberInfo>()
                .Prepend(type)
                .Where(member => member.IsDefined(typeof(UnsupportedOSPlatformAttribute)) || member.IsDefined(typeof(SupportedOSPlatformAttribute)))
                .Select(member => $"{type.FullName}.{member.Name}"))
            .ToList();

        Assert.Empty(marked);
        Assert.False(Build.IsDefined(typeof(SupportedOSPlatformAttribute)));
    }

    [Fact]
    public void Every_native_binding_names_a_library_dotnet_ships_on_every_operating_system()
    {
        var bindings = Build.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Import: method.GetCustomAttribute<DllImportAttribute>()))
            .Where(binding => binding.Import is not null)
            .ToList();

        Assert.NotEmpty(bindings);
        Assert.All(bindings, binding => Assert.Contains(binding.Import!.Value, s_portableLibraries));
    }

    [Fact]
    public void The_platform_analyzer_that_makes_the_first_check_mean_something_is_an_error_and_not_silenced()
    {
        var props = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "Directory.Build.props"));
        Assert.Contains("<TreatWarningsAsErrors>true</TreatWarningsAsErrors>", props, StringComparison.Ordinal);
        foreach (var file in (string[])["Directory.Build.props", ".editorconfig", "src/Cloister.Build/Cloister.Build.csproj"])
        {
            var path = Path.Combine(RepositoryPaths.Root, file);
            Assert.True(!File.Exists(path) || !File.ReadAllText(path).Contains("CA1416", StringComparison.Ordinal), $"{file} mentions CA1416");
        }

        // The mark the analyzer demanded where it applies: writing files with Unix modes is marked as not for Windows.
        Assert.True(typeof(Supervisor.SupervisorBundle).GetMethod(nameof(Supervisor.SupervisorBundle.WriteTo))!.IsDefined(typeof(UnsupportedOSPlatformAttribute)));
    }
}
