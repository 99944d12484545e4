using System.Net;
using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner;

public static partial class ProvisionerServer
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "provisioner listening on https://{Endpoint} (pin {Pin}, {Database})")]
    private static partial void LogStarted(ILogger logger, IPEndPoint endpoint, string pin, string database);
}
