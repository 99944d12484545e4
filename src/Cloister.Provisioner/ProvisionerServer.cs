using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Verification;
using Cloister.Provisioner.Api;
using Cloister.Provisioner.Identity;
using Cloister.Provisioner.Provisioning;
using Cloister.Provisioner.Storage;
using Cloister.Runtime.Provisioning;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Cloister.Provisioner;

/// <summary>Runs a provisioner: its identity, its store, and the HTTPS listener of docs/provisioning.md.</summary>
public static partial class ProvisionerServer
{
    /// <summary>
    /// Loads the directory, opens (and migrates) the database, and starts listening. Returns once the listener is
    /// bound; stop it by disposing the result.
    /// </summary>
    /// <param name="options">The options; checked first.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running provisioner.</returns>
    /// <exception cref="ArgumentException">An option is out of range, or the database is neither unset nor a PostgreSQL URL or connection string.</exception>
    /// <exception cref="FormatException">The directory or the attestation root file is not valid (one line naming the file), or the database URL is malformed.</exception>
    /// <exception cref="System.Data.Common.DbException">The database cannot be opened or migrated.</exception>
    /// <exception cref="IOException">A file cannot be read, or the endpoint cannot be bound.</exception>
    public static async Task<RunningProvisioner> StartAsync(ProvisionerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        using var attestationRoot = options.AttestationRootPem is null ? null : ReadAttestationRoot(options.AttestationRootPem);
        var identity = ProvisionerIdentity.Load(options.Directory);
        IProvisionerStore? store = null;
        WebApplication? app = null;
        try
        {
            store = await OpenStoreAsync(options, cancellationToken).ConfigureAwait(false);
            var verifier = new AttestationVerifier(new AttestationVerifierOptions
            {
                TrustedRoots = attestationRoot is null ? null : [attestationRoot],
                TimeProvider = options.TimeProvider,
            });
            var logger = loggerFactory.CreateLogger("Cloister.Provisioner");
            var provisioning = new ProvisioningService(identity, store, verifier, options, logger);
            var api = new ProvisionerApi(identity, store, provisioning, options.TimeProvider, logger);

            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Cloister.Provisioner" });
            builder.Services.AddSingleton(loggerFactory);
            builder.Services.AddRoutingCore();
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Limits.MaxRequestBodySize = ProvisioningProtocol.MaxMessageSize;
                kestrel.Listen(options.Listen, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(new HttpsConnectionAdapterOptions
                    {
                        ServerCertificate = identity.TlsCertificate,
                        SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        // Requested, not required: the enclave API has no client certificate, and each API checks
                        // its own callers against the client CA (ProvisionerApi), not against the system's roots.
                        ClientCertificateMode = ClientCertificateMode.AllowCertificate,
                        ClientCertificateValidation = (_, _, _) => true,
                    });
                });
            });
            app = builder.Build();
            app.Use(api.GuardAsync);
            api.Map(app);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var endpoint = BoundEndpoint(app, options.Listen);
            var pin = Convert.ToHexStringLower(identity.Pin);
            LogStarted(logger, endpoint, pin, store is SqliteProvisionerStore ? "SQLite" : "PostgreSQL");
            return new RunningProvisioner(app, store, identity, endpoint);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            identity.Dispose();
            throw;
        }
    }

    /// <summary>Opens the store the options name: SQLite in the directory, or PostgreSQL.</summary>
    /// <param name="options">The options.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The migrated store; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The database is neither unset nor a PostgreSQL URL or connection string.</exception>
    /// <exception cref="FormatException">The PostgreSQL URL is malformed.</exception>
    /// <exception cref="System.Data.Common.DbException">The database cannot be opened or migrated.</exception>
    public static async Task<IProvisionerStore> OpenStoreAsync(ProvisionerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Database is null)
        {
            return await SqliteProvisionerStore.OpenAsync(Path.Combine(options.Directory, ProvisionerIdentity.DatabaseFile), cancellationToken).ConfigureAwait(false);
        }

        return PostgresProvisionerStore.Names(options.Database)
            ? await PostgresProvisionerStore.OpenAsync(options.Database, cancellationToken).ConfigureAwait(false)
            : throw new ArgumentException("the database is a postgres://user@host[:port]/database URL or an Npgsql connection string (leave it unset for SQLite)");
    }

    private static X509Certificate2 ReadAttestationRoot(string path)
    {
        X509Certificate2 root;
        try
        {
            root = X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"{path}: not a PEM certificate: {ex.Message}", ex);
        }

        if (root.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
        {
            root.Dispose();
            throw new FormatException($"{path}: not a CA certificate (an attestation root is a self-signed CA)");
        }

        return root;
    }

    private static IPEndPoint BoundEndpoint(WebApplication app, IPEndPoint requested)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var url))
            {
                return new IPEndPoint(requested.Address, url.Port);
            }
        }

        return requested;
    }
}
