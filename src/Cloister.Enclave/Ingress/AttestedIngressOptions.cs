using Cloister.Runtime.Nsm;

namespace Cloister.Enclave.Ingress;

/// <summary>What attested ingress needs besides its ports; every timing has a default a production enclave keeps.</summary>
internal sealed record AttestedIngressOptions
{
    /// <summary>The NSM that signs every document.</summary>
    public required NsmDevice Nsm { get; init; }

    /// <summary>Who signs the leaves: self-signed standalone; the deployment CA once provisioning exists.</summary>
    public ICertificateIssuer Issuer { get; init; } = SelfSignedCertificateIssuer.Instance;

    /// <summary>The clock for rotation, the token bucket and log throttling.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The bounds on issuing nonce certificates and <c>?nonce=</c> documents.</summary>
    public IssuanceLimits Limits { get; init; } = new();

    /// <summary>How long one TLS handshake may take, nonce certificate included, before its connection is closed.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the app may take to answer a request's headers before the client gets 504.</summary>
    public TimeSpan AppResponseTimeout { get; init; } = TimeSpan.FromSeconds(100);
}
