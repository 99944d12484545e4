namespace Cloister.Enclave.Provisioning;

/// <summary>Provisioning failed for good: the provisioner refused, its key is not the pinned one, its answer is unusable, or it stayed unreachable.</summary>
/// <param name="reason">Why, in one line; it goes to the status stream and never holds a secret.</param>
internal sealed class ProvisioningRefusedException(string reason) : Exception(reason);
