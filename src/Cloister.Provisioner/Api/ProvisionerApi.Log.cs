using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner.Api;

internal sealed partial class ProvisionerApi
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "{Path}: refused a client without a valid {Role} certificate (CN {Name})")]
    private static partial void LogUnauthenticated(ILogger logger, string path, string role, string? name);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogFailed(ILogger logger, string method, string path, Exception exception);
}
