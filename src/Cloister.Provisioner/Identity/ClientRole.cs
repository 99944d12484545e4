namespace Cloister.Provisioner.Identity;

/// <summary>What a client certificate lets its holder do: its OU names the role.</summary>
public enum ClientRole
{
    /// <summary>OU=host: may ask for tokens (and only while the host is not revoked).</summary>
    Host,

    /// <summary>OU=operator: manages deployments, secrets, hosts, and reads the audit log.</summary>
    Operator,
}

/// <summary>A client authenticated by its certificate.</summary>
/// <param name="Role">Its role (the certificate's OU).</param>
/// <param name="Name">Its name (the certificate's CN).</param>
/// <param name="Thumbprint">The SHA-256 of the certificate (lowercase hex).</param>
public sealed record ClientIdentity(ClientRole Role, string Name, string Thumbprint);
