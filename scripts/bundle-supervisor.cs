#:project ../src/Cloister.Build/Cloister.Build.csproj
// Publishes the NativeAOT supervisor and writes its self-contained /cloister/ tree below an image root, the way
// `cloister build` packages it. Usage: dotnet run scripts/bundle-supervisor.cs -- <image-root-dir>
using System.Diagnostics;
using Cloister.Build.Supervisor;

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("the supervisor is built on Linux: it bundles this machine's glibc and OpenSSL");
    return 2;
}

if (args is not [var imageRoot])
{
    Console.Error.WriteLine("usage: dotnet run scripts/bundle-supervisor.cs -- <image-root-dir>");
    return 2;
}

var repository = Path.GetFullPath(Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? ".", ".."));
var artifacts = Path.Combine(repository, "artifacts", "supervisor");
var published = Path.Combine(artifacts, "publish");
var publish = Process.Start("dotnet", ["publish", Path.Combine(repository, "src", "Cloister.Enclave"), "-r", "linux-x64", "-c", "Release", "--nologo", "--artifacts-path", artifacts, "-o", published]);
await publish.WaitForExitAsync();
if (publish.ExitCode != 0)
{
    return publish.ExitCode;
}

var bundle = SupervisorBundle.Create(Path.Combine(published, "cloister-enclave"));
bundle.WriteTo(imageRoot);
foreach (var entry in bundle.Entries)
{
    Console.WriteLine($"{Convert.ToString((int)entry.Mode, 8)} {entry.Length,10} {entry.Path}{(entry.IsDirectory ? "/" : $"  <- {entry.SourcePath ?? "generated"}")}");
}

Console.WriteLine($"cmd: {string.Join(' ', SupervisorBundle.Command())}");
Console.WriteLine($"env: {string.Join(' ', SupervisorBundle.Environment)}");
return 0;
