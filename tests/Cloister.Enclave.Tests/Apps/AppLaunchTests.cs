using Cloister.Enclave.Apps;
using Cloister.Runtime.Manifest;
using Cloister.Runtime.Provisioning;

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

    [Fact]
    public void Secrets_override_the_images_variables_of_the_same_name_but_not_the_proxys()
    {
        var spec = new EnclaveLaunchSpec
        {
            Manifest = new EnclaveManifest { Name = "t", Image = "i", Env = new Dictionary<string, string> { ["MODE"] = "prod" } },
            Image = new ImageRunConfig { Cmd = ["server"], Env = ["PATH=/usr/bin", "API_KEY=placeholder", "LANG=C.UTF-8"] },
        };
        var proxyName = AppLaunch.ProxyEnvironment[0][..AppLaunch.ProxyEnvironment[0].IndexOf('=', StringComparison.Ordinal)];

        var launch = AppLaunch.Resolve(spec, _root).WithSecrets(
        [
            new ProvisionedSecret { Name = "API_KEY", Value = "s3cret=with=equals", Version = 2 },
            new ProvisionedSecret { Name = "DB_PASSWORD", Value = "p\u00e4ss word", Version = 1 },
            new ProvisionedSecret { Name = proxyName, Value = "http://elsewhere:1", Version = 1 },
        ]);

        Assert.Equal(
            ["PATH=/usr/bin", "LANG=C.UTF-8", "MODE=prod", "API_KEY=s3cret=with=equals", "DB_PASSWORD=p\u00e4ss word", .. AppLaunch.ProxyEnvironment],
            launch.Environment);
        Assert.Equal("/usr/bin/server", launch.Executable);
    }

    [Theory]
    [InlineData("1ST", "tops3cret")]
    [InlineData("WITH-DASH", "tops3cret")]
    [InlineData("A=B", "tops3cret")]
    [InlineData("", "tops3cret")]
    [InlineData("NUL", "tops3cret\0x")]
    public void A_secret_that_cannot_be_a_variable_is_refused_by_name_and_never_quoted(string name, string value)
    {
        var spec = new EnclaveLaunchSpec { Manifest = new EnclaveManifest { Name = "t", Image = "i" }, Image = new ImageRunConfig { Cmd = ["server"] } };

        var ex = Assert.Throws<AppLaunchException>(() => AppLaunch.Resolve(spec, _root).WithSecrets([new ProvisionedSecret { Name = name, Value = value, Version = 1 }]));

        Assert.StartsWith($"provisioning: secret '{name}' cannot be an environment variable", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tops3cret", ex.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Executable(string relative)
    {
        var path = Path.Combine(_root, relative);
        File.WriteAllText(path, "#!/bin/sh\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
