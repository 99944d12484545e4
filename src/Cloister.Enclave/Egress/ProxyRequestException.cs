namespace Cloister.Enclave.Egress;

/// <summary>A request the proxy answers with an HTTP error and then closes: malformed, or larger than the proxy reads.</summary>
internal sealed class ProxyRequestException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;

    public static ProxyRequestException BadRequest(string message) => new(400, message);
}
