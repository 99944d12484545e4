using System.Reflection;
using System.Runtime.Versioning;
using Cloister.Enclave.SelfTest;

// The supervisor runs only inside a Linux enclave (or the Linux simulator).
[assembly: SupportedOSPlatform("linux")]

namespace Cloister.Enclave;

internal static class Program
{
    private const string Usage = "usage: cloister-enclave [--self-test | --version]";

    private static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["--version"]:
                Console.WriteLine($"cloister-enclave {InformationalVersion}");
                return 0;
            case ["--self-test"]:
                return await RunSelfTestAsync();
            case []:
                return await EnclaveSupervisor.RunAsync();
            default:
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    private static string InformationalVersion =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    private static async Task<int> RunSelfTestAsync()
    {
        SelfTestReport report;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            report = await RuntimeSelfTest.RunAsync(InformationalVersion, timeout.Token);
        }
        catch (Exception ex)
        {
            // Whatever broke (a missing libssl surfaces as a TypeInitializationException deep in crypto), the
            // operator gets one line naming it, and a nonzero exit that AWS init reports as "child exited with error".
            Console.Error.WriteLine($"cloister-enclave: self-test failed: {ex.GetType().Name}: {ex.Message}{InnerMessages(ex)}");
            return 1;
        }

        Console.WriteLine(SelfTestReport.ToJson(report));
        return 0;
    }

    private static string InnerMessages(Exception ex)
    {
        var messages = new List<string>();
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            messages.Add($"{inner.GetType().Name}: {inner.Message}");
        }

        return messages.Count == 0 ? "" : " <- " + string.Join(" <- ", messages);
    }
}
