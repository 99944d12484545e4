using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner.Provisioning;

public sealed partial class ProvisioningService
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "token issued for deployment {Deployment} to host {Host}, valid until {ExpiresAt:O}")]
    private static partial void LogTokenIssued(ILogger logger, string deployment, string host, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "provisioned deployment {Deployment} via host {Host} ({SecretCount} secrets)")]
    private static partial void LogGranted(ILogger logger, string deployment, string? host, int secretCount);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "refused provisioning ({Reason}) of deployment {Deployment} via host {Host}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string reason, string? deployment, string? host, string? detail);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "renewed the intermediate CA of deployment {Deployment}")]
    private static partial void LogCertificateAuthorityRenewed(ILogger logger, string deployment);
}
