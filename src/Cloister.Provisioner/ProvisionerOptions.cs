using System.Net;
using Cloister.Runtime.Provisioning;
using Microsoft.Extensions.Logging;

namespace Cloister.Provisioner;

/// <summary>How <see cref="ProvisionerServer.StartAsync"/> runs a provisioner; checked when it starts.</summary>
public sealed class ProvisionerOptions
{
    /// <summary>The default listen endpoint: 127.0.0.1:8443 (a new instance each time: an endpoint is mutable).</summary>
    public static IPEndPoint DefaultListen => new(IPAddress.Loopback, 8443);

    /// <summary>The default (and largest) <see cref="MaxDocumentAge"/>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultMaxDocumentAge = TimeSpan.FromMinutes(5);

    /// <summary>The provisioner's directory (<see cref="Identity.ProvisionerIdentity.Create"/>).</summary>
    public required string Directory { get; init; }

    /// <summary>Where the one HTTPS listener binds; port 0 picks a free port (see <see cref="RunningProvisioner.Endpoint"/>).</summary>
    public IPEndPoint Listen { get; init; } = DefaultListen;

    /// <summary>
    /// The database: <see langword="null"/> for SQLite in <c>DIRECTORY/provisioner.db</c>; a
    /// <c>postgres://user[:password]@host[:port]/database</c> URL or an Npgsql connection string for PostgreSQL.
    /// </summary>
    public string? Database { get; init; }

    /// <summary>
    /// A PEM file holding the one root attestation documents must chain to (a simulated Nitro root), or
    /// <see langword="null"/> for the AWS Nitro Enclaves root G1. The simulator's root is never trusted otherwise.
    /// </summary>
    public string? AttestationRootPem { get; init; }

    /// <summary>The clock for tokens, document age, certificates and the audit.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How long an issued token lives: more than zero, at most <see cref="ProvisioningProtocol.MaxTokenLifetime"/>.</summary>
    public TimeSpan TokenLifetime { get; init; } = ProvisioningProtocol.MaxTokenLifetime;

    /// <summary>The oldest an attestation document may be: more than zero, at most <see cref="DefaultMaxDocumentAge"/>.</summary>
    public TimeSpan MaxDocumentAge { get; init; } = DefaultMaxDocumentAge;

    /// <summary>Where the provisioner logs (never a secret or key); <see langword="null"/> logs nothing.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Checks the options that need no I/O.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message is one line naming it.</exception>
    public void Validate()
    {
        if (string.IsNullOrEmpty(Directory))
        {
            throw new ArgumentException("the provisioner's directory is not set");
        }

        if (Listen is null)
        {
            throw new ArgumentException("the listen endpoint is not set");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("the time provider is not set");
        }

        if (TokenLifetime <= TimeSpan.Zero || TokenLifetime > ProvisioningProtocol.MaxTokenLifetime)
        {
            throw new ArgumentException($"token lifetime {TokenLifetime}: must be more than zero and at most {ProvisioningProtocol.MaxTokenLifetime}");
        }

        if (MaxDocumentAge <= TimeSpan.Zero || MaxDocumentAge > DefaultMaxDocumentAge)
        {
            throw new ArgumentException($"maximum document age {MaxDocumentAge}: must be more than zero and at most {DefaultMaxDocumentAge}");
        }

        if (Database is { Length: 0 })
        {
            throw new ArgumentException("the database is empty (leave it unset for SQLite in the directory)");
        }
    }
}
