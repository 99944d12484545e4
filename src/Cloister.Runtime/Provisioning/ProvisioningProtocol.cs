namespace Cloister.Runtime.Provisioning;

/// <summary>
/// The fixed names of the provisioning protocol, shared by the provisioner, the host supervisor and the enclave
/// supervisor (docs/provisioning.md is the prose form).
/// </summary>
public static class ProvisioningProtocol
{
    /// <summary>Host API (mTLS, host certificate): <c>POST {"deployment"}</c> → <see cref="TokenResponse"/>.</summary>
    public const string TokensPath = "/v1/tokens";

    /// <summary>Enclave API (no client certificate): <c>POST</c> <see cref="ProvisionRequest"/> → <see cref="ProvisionResponse"/>.</summary>
    public const string ProvisionPath = "/v1/provision";

    /// <summary>Operator API (mTLS, operator certificate): deployments, their secrets, hosts and the audit log live below it.</summary>
    public const string OperatorPrefix = "/v1/";

    /// <summary>The one word every refused provisioning request gets; the reason goes to the provisioner's log and audit only.</summary>
    public const string Refused = "refused";

    /// <summary>The longest a token lives: the host fetches it just before the enclave needs it.</summary>
    public static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromMinutes(5);

    /// <summary>The largest request or answer body either side reads: an answer carries a CA and secrets of at most 64 KiB each.</summary>
    public const int MaxMessageSize = 8 << 20;
}
