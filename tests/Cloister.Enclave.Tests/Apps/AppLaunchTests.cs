using Cloister.Enclave.Apps;
using Cloister.Runtime.Manifest;

namespace Cloister.Enclave.Tests.Apps;

public sealed class AppLaunchTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cloister-app-launch-").FullName;

    public AppLaunchTests()
    {
        foreach (var directory in new[] { "usr/local/bin", "usr/bin", "opt/app/bin", "srv" })
        {
            Directory.CreateDirectory(Path.Combine(_root, directory));
        }

        Executable("usr/bin/server");
        Executable("opt/app/bin/server");
        File.WriteAllText(Path.Combine(_root, "usr/local/bin/notes"), "not executable");
        File.CreateSymbolicLink(Path.Combine(_root, "usr/bin/serve"), "server");
    }

    [Theory]
    [InlineData("server", "PATH=/opt/app/bin:/usr/bin", "/opt/app/bin/server")]
    [InlineData("server", "PATH=/nowhere::/usr/bin/", "/usr/bin/server")]
    [InlineData("serve", "PATH=/usr/bin", "/usr/bin/serve")]
    [InlineData("server", null, "/usr/bin/server")]
    [InlineData("/opt/app/bin/server", "PATH=/usr/bin", "/opt/app/bin/server")]
    public void Argv0_is_found_through_the_apps_path(string program, string? path, string expected)
    {
        Assert.Equal(expected, ExecutableSearch.Resolve(program, path is null ? [] : [path], _root));
    }

    [Theory]
    [InlineData("notes", "PATH=/usr/local/bin", AppLaunchException.NotFound, "the app's executable 'notes' is not in its PATH (/usr/local/bin)")]
    [InlineData("/usr/local/bin/notes", "PATH=/usr/bin", AppLaunchException.CannotRun, "the app's executable /usr/local/bin/notes does not exist or is not executable")]
    [InlineData("/usr/bin/nothing", "PATH=/usr/bin", AppLaunchException.NotFound, "the app's executable /usr/bin/nothing does not exist or is not executable")]
    public void Missing_or_unexecutable_programs_fail_with_the_shells_exit_codes(string program, string path, int exitCode, string message)
    {
        var ex = Assert.Throws<AppLaunchException>(() => ExecutableSearch.Resolve(program, [path], _root));

        Assert.Equal(exitCode, ex.ExitCode);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Launch_takes_the_images_workdir_and_environment_and_overrides_the_proxy_variables()
    {
        var spec = new EnclaveLaunchSpec
        {
            Manifest = new EnclaveManifest { Name = "t", Image = "i", Env = new Dictionary<string, string> { ["MODE"] = "prod", ["https_proxy"] = "http://mine:1" } },
            Image = new ImageRunConfig { Entrypoint = ["server"], Cmd = ["--port", "8080"], Env = ["PATH=/opt/app/bin", "MODE=dev", "LANG=C.UTF-8"], WorkingDir = "/srv", User = "1:2" },
        };

        var launch = AppLaunch.Resolve(spec, _root);

        Assert.Equal("/opt/app/bin/server", launch.Executable);
        Assert.Equal(["server", "--port", "8080"], launch.Arguments);
        Assert.Equal("/srv", launch.WorkingDirectory);
        Assert.Equal(new AppCredentials(1, 2, launch.Credentials.Groups), launch.Credentials);
        Assert.Equal(["PATH=/opt/app/bin", "MODE=prod", "LANG=C.UTF-8", .. AppLaunch.ProxyEnvironment], launch.Environment);
    }

    [Fact]
    public void Launch_defaults_to_the_root_directory_and_refuses_a_missing_workdir_or_command()
    {
        var spec = new EnclaveLaunchSpec { Manifest = new EnclaveManifest { Name = "t", Image = "i" }, Image = new ImageRunConfig { Cmd = ["server"] } };
        Assert.Equal("/", AppLaunch.Resolve(spec, _root).WorkingDirectory);

        var missingWorkdir = new EnclaveLaunchSpec { Manifest = spec.Manifest, Image = new ImageRunConfig { Cmd = ["server"], WorkingDir = "/data" } };
        Assert.Equal("WORKDIR /data does not exist in the image", Assert.Throws<AppLaunchException>(() => AppLaunch.Resolve(missingWorkdir, _root)).Message);

        var nothing = new EnclaveLaunchSpec { Manifest = spec.Manifest, Image = new ImageRunConfig() };
        Assert.Equal(AppLaunchException.NotFound, Assert.Throws<AppLaunchException>(() => AppLaunch.Resolve(nothing, _root)).ExitCode);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Executable(string relative)
    {
        var path = Path.Combine(_root, relative);
        File.WriteAllText(path, "#!/bin/sh\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
