using BenchmarkDotNet.Running;
using Cloister.Benchmarks.Encryption;
using Cloister.Benchmarks.Provisioning;
using Cloister.Benchmarks.Relay;

if (args.Length > 0 && args[0] == IdleRelayMemory.Command)
{
    return await IdleRelayMemory.RunAsync(args);
}

if (args.Length > 0 && args[0] == ProvisioningRoundTrips.Command)
{
    return await ProvisioningRoundTrips.RunAsync(args);
}

if (args.Length > 0 && args[0] == KestrelEcho.Command)
{
    return await KestrelEcho.RunAsync(args);
}

if (args.Length > 0 && args[0] == RawAesGcmThroughput.Command)
{
    return RawAesGcmThroughput.Run(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
