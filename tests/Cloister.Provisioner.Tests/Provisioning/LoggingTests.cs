using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Cloister.Runtime.Provisioning;
using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner.Tests.Provisioning;

/// <summary>Decisions are logged with their event ids and reasons; secrets and tokens never are.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Grants_and_refusals_are_logged_without_secrets_or_tokens()
    {
        var provider = new CapturingProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));
        await using var harness = await ProvisionerHarness.StartAsync(loggerFactory: loggerFactory);
        var host = await harness.AddHostAsync("host-1");
        var pcrs = ProvisionerHarness.RandomPcrs();
        await harness.DeployAsync("web", pcrs);
        await harness.SetSecretAsync("web", "API_KEY", "sk-never-logged");
        var enclave = harness.Client();
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384);

        var token = await ProvisionerHarness.TokenAsync(host, "web");
        using (var granted = await ProvisionerHarness.ProvisionAsync(enclave, "web", token, ProvisionerHarness.Document(harness.Nsm(pcrs), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo())))
        {
            Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        }

        using (var refused = await ProvisionerHarness.ProvisionAsync(enclave, "web", token, ProvisionerHarness.Document(harness.Nsm(pcrs), ProvisioningToken.HashOf(token), key.ExportSubjectPublicKeyInfo())))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        var entries = provider.Entries.ToArray();
        Assert.Contains(entries, e => e.EventId == 1);
        Assert.Contains(entries, e => e.EventId == 100);
        Assert.Contains(entries, e => e.EventId == 101 && e.Message.Contains("web", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.EventId == 102 && e.Message.Contains("(token-replayed)", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Message.Contains("sk-never-logged", StringComparison.Ordinal) || e.Message.Contains(token, StringComparison.Ordinal));
    }

    private sealed class CapturingProvider : ILoggerProvider
    {
        public ConcurrentQueue<(int EventId, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Capturing(Entries);

        public void Dispose()
        {
        }

        private sealed class Capturing(ConcurrentQueue<(int, string)> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue((eventId.Id, formatter(state, exception)));
        }
    }
}
