namespace Cloister.Enclave.Provisioning;

/// <summary>One provisioning attempt failed on the way (no token, no connection, TLS, 5xx, a timeout): worth another attempt.</summary>
internal sealed class ProvisioningTransportException(string message, Exception? innerException = null) : Exception(message, innerException);
