using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cloister.Attestation.Certificates;
using Cloister.Provisioner.AtRest;
using Cloister.Runtime.Provisioning;

namespace Cloister.Provisioner.Identity;

/// <summary>
/// The provisioner's keys and certificates: the files of its directory (docs/provisioning.md, "The provisioner's
/// directory"), and what it issues with them (client certificates, deployments' intermediate CAs).
/// </summary>
public sealed class ProvisionerIdentity : IDisposable
{
    /// <summary>The TLS key (P-384, PKCS#8 PEM, mode 0600).</summary>
    public const string TlsKeyFile = "tls.key";

    /// <summary>The self-signed TLS certificate (PEM); enclaves pin its SubjectPublicKeyInfo.</summary>
    public const string TlsCertificateFile = "tls.pem";

    /// <summary>The key that signs host tokens (P-384, PKCS#8 PEM, mode 0600).</summary>
    public const string TokenKeyFile = "token.key";

    /// <summary>The root CA's key (mode 0600).</summary>
    public const string RootCaKeyFile = "root-ca.key";

    /// <summary>The root CA's certificate: what clients of attested TLS trust.</summary>
    public const string RootCaCertificateFile = "root-ca.pem";

    /// <summary>The client CA's key (mode 0600).</summary>
    public const string ClientCaKeyFile = "client-ca.key";

    /// <summary>The client CA's certificate: issuer of host and operator certificates.</summary>
    public const string ClientCaCertificateFile = "client-ca.pem";

    /// <summary>The at-rest key (<see cref="FileStorageKey"/>, mode 0600).</summary>
    public const string StorageKeyFile = "storage.key";

    /// <summary>The first operator's credentials (<see cref="ProvisionerCredentials"/>, mode 0600).</summary>
    public const string OperatorCredentialsFile = "operator.json";

    /// <summary>The SQLite database, when no other database is configured.</summary>
    public const string DatabaseFile = "provisioner.db";

    /// <summary>How long a deployment's intermediate CA is valid; the provisioner renews it when a third of that remains.</summary>
    public static readonly TimeSpan DeploymentCaLifetime = TimeSpan.FromDays(30);

    /// <summary>How long host and operator certificates are valid.</summary>
    public static readonly TimeSpan ClientCertificateLifetime = TimeSpan.FromDays(2 * 365);

    private static readonly TimeSpan s_authorityLifetime = TimeSpan.FromDays(20 * 365);

    // Issued certificates start a little in the past, so a client whose clock lags is not refused a fresh one.
    private static readonly TimeSpan s_backdate = TimeSpan.FromMinutes(5);

    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    private const string OrganizationalUnitOid = "2.5.4.11";

    // Client certificates already verified, by thumbprint: building an X509Chain costs about 5 ms, and every host and
    // operator request presents one. Only successes are kept, each only within its certificate's validity, and the
    // cache is emptied when full, so a flood of distinct certificates costs what it did without it.
    private const int MaxAuthenticated = 10_000;
    private readonly ConcurrentDictionary<string, (ClientIdentity Identity, DateTimeOffset NotBefore, DateTimeOffset NotAfter)> _authenticated = new(StringComparer.Ordinal);

    private readonly ECDsa _rootCaKey;
    private readonly ECDsa _clientCaKey;

    private ProvisionerIdentity(
        string directory, X509Certificate2 tlsCertificate, ECDsa tokenKey, X509Certificate2 rootCa, ECDsa rootCaKey,
        X509Certificate2 clientCa, ECDsa clientCaKey, FileStorageKey storageKey)
    {
        Directory = directory;
        TlsCertificate = tlsCertificate;
        TokenKey = tokenKey;
        RootCaCertificate = rootCa;
        _rootCaKey = rootCaKey;
        ClientCaCertificate = clientCa;
        _clientCaKey = clientCaKey;
        StorageKey = storageKey;
        Pin = ProvisionerPin.Of(tlsCertificate);
    }

    /// <summary>The directory the identity was read from.</summary>
    public string Directory { get; }

    /// <summary>The TLS certificate with its private key.</summary>
    public X509Certificate2 TlsCertificate { get; }

    /// <summary>The pin of the TLS key (<see cref="ProvisionerPin"/>).</summary>
    public byte[] Pin { get; }

    /// <summary>The key that signs and verifies host tokens.</summary>
    public ECDsa TokenKey { get; }

    /// <summary>The root of every deployment's intermediate CA (public part).</summary>
    public X509Certificate2 RootCaCertificate { get; }

    /// <summary>The issuer of host and operator certificates (public part).</summary>
    public X509Certificate2 ClientCaCertificate { get; }

    /// <summary>The at-rest key.</summary>
    public IStorageKey StorageKey { get; }

    /// <summary>
    /// Creates a provisioner's directory: every file of the table in docs/provisioning.md but the database, and
    /// <c>operator.json</c> for a first operator (CN <c>operator</c>) that names <paramref name="url"/>.
    /// </summary>
    /// <param name="directory">The directory; created (mode 0700) if absent, refused unless empty.</param>
    /// <param name="url">The provisioner's https:// URL as clients reach it; its host goes in the TLS certificate's SAN.</param>
    /// <param name="timeProvider">The clock for the certificates' validity; the system clock when <see langword="null"/>.</param>
    /// <returns>The new identity; the caller disposes it.</returns>
    /// <exception cref="ArgumentException"><paramref name="url"/> is not an absolute https:// URL.</exception>
    /// <exception cref="IOException">The directory is not empty, or a file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory may not be written.</exception>
    public static ProvisionerIdentity Create(string directory, Uri url, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || url.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{url}' is not an https:// URL", nameof(url));
        }

        if (System.IO.Directory.Exists(directory))
        {
            if (System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
            {
                throw new IOException($"{directory}: not empty; a provisioner directory is created in a new or empty directory");
            }
        }
        else if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        using var tlsKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var tokenKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var operatorKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var tls = SelfSignedTls(tlsKey, url, now);
        using var root = SelfSignedAuthority("Cloister Provisioner Root CA", rootKey, now);
        using var client = SelfSignedAuthority("Cloister Provisioner Client CA", clientKey, now);

        WriteKey(directory, TlsKeyFile, tlsKey);
        WriteCertificate(directory, TlsCertificateFile, tls);
        WriteKey(directory, TokenKeyFile, tokenKey);
        WriteKey(directory, RootCaKeyFile, rootKey);
        WriteCertificate(directory, RootCaCertificateFile, root);
        WriteKey(directory, ClientCaKeyFile, clientKey);
        WriteCertificate(directory, ClientCaCertificateFile, client);
        FileStorageKey.Create(Path.Combine(directory, StorageKeyFile)).Dispose();

        using var operatorCertificate = IssueClient(
            client, clientKey, new CertificateRequest(Subject("operator", ClientRole.Operator), operatorKey, HashAlgorithmName.SHA384), now);
        new ProvisionerCredentials
        {
            Provisioner = url,
            PinnedSha256 = Convert.ToHexStringLower(ProvisionerPin.Of(tls)),
            Name = "operator",
            Certificate = operatorCertificate.ExportCertificatePem(),
            PrivateKey = operatorKey.ExportPkcs8PrivateKeyPem(),
        }.Write(Path.Combine(directory, OperatorCredentialsFile));

        return Load(directory);
    }

    /// <summary>Reads and checks a provisioner's directory: every file present, keys mode 0600, keys matching their certificates.</summary>
    /// <param name="directory">The directory made by <see cref="Create"/>.</param>
    /// <returns>The identity; the caller disposes it.</returns>
    /// <exception cref="FormatException">A file is missing, malformed, readable by others (keys), or does not match its pair; the message is one line naming the file.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">A file may not be read.</exception>
    public static ProvisionerIdentity Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new FormatException($"{directory}: no such directory (create one with `cloister provisioner init {directory}`)");
        }

        var owned = new List<IDisposable>();
        try
        {
            T Own<T>(T value)
                where T : IDisposable
            {
                owned.Add(value);
                return value;
            }

            var tlsKey = Own(ReadKey(directory, TlsKeyFile));
            using var tlsPublic = ReadCertificate(directory, TlsCertificateFile, tlsKey);
            // A key imported from PEM is ephemeral; SslStream on Linux serves it reliably only from PKCS#12.
            using var tlsPair = tlsPublic.CopyWithPrivateKey(tlsKey);
            var tls = Own(X509CertificateLoader.LoadPkcs12(tlsPair.Export(X509ContentType.Pkcs12), password: null));
            var tokenKey = Own(ReadKey(directory, TokenKeyFile));
            var rootKey = Own(ReadKey(directory, RootCaKeyFile));
            var root = Own(ReadCertificate(directory, RootCaCertificateFile, rootKey));
            var clientKey = Own(ReadKey(directory, ClientCaKeyFile));
            var client = Own(ReadCertificate(directory, ClientCaCertificateFile, clientKey));
            var storagePath = Path.Combine(directory, StorageKeyFile);
            RequireFile(storagePath);
            var storage = Own(FileStorageKey.Load(storagePath));
            tlsKey.Dispose();
            return new ProvisionerIdentity(directory, tls, tokenKey, root, rootKey, client, clientKey, storage);
        }
        catch
        {
            owned.ForEach(o => o.Dispose());
            throw;
        }
    }

    /// <summary>Issues a host or operator certificate from a PKCS#10 request (whose signature must verify) under the client CA.</summary>
    /// <param name="csrPem">The request (PEM); its key must be EC P-256/P-384 or RSA of at least 2048 bits. Its subject is ignored.</param>
    /// <param name="name">The client's name (CN); see <see cref="Names.IsEntityName"/>.</param>
    /// <param name="role">The role (OU).</param>
    /// <param name="now">The issuing time.</param>
    /// <returns>The certificate (public part).</returns>
    /// <exception cref="FormatException">The request does not decode, its signature does not verify, or its key is too weak.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not an acceptable name.</exception>
    public X509Certificate2 IssueClientCertificate(string csrPem, string name, ClientRole role, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(csrPem);
        if (!Names.IsEntityName(name))
        {
            throw new ArgumentException($"'{name}' is not a name (letters, digits, '.', '_', '-'; at most 63)", nameof(name));
        }

        CertificateRequest csr;
        try
        {
            csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA384);
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"not a certificate signing request with a valid signature: {ex.Message}", ex);
        }

        CheckClientKey(csr.PublicKey);
        return IssueClient(ClientCaCertificate, _clientCaKey, new CertificateRequest(Subject(name, role), csr.PublicKey, HashAlgorithmName.SHA384), now);
    }

    /// <summary>
    /// Issues a deployment's intermediate CA under the root: P-384, CA with pathLen 0, keyUsage keyCertSign, cRLSign
    /// and digitalSignature, and a critical name constraint permitting exactly <paramref name="hostnames"/> (and
    /// their subdomains, as dNSName constraints do), valid for <see cref="DeploymentCaLifetime"/>.
    /// </summary>
    /// <param name="deployment">The deployment's name.</param>
    /// <param name="hostnames">At least one hostname (<see cref="Names.IsHostname"/>).</param>
    /// <param name="now">The issuing time.</param>
    /// <returns>The certificate and its private key, as PEM.</returns>
    /// <exception cref="ArgumentException">No hostname, or one is not a hostname.</exception>
    public (string CertificatePem, string PrivateKeyPem) IssueDeploymentCa(string deployment, IReadOnlyList<string> hostnames, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(hostnames);
        if (hostnames.Count == 0)
        {
            throw new ArgumentException("a deployment's CA needs at least one hostname", nameof(hostnames));
        }

        foreach (var hostname in hostnames)
        {
            if (!Names.IsHostname(hostname))
            {
                throw new ArgumentException($"'{hostname}' is not a lowercase DNS name", nameof(hostnames));
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={deployment} deployment CA, O=Cloister"), key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(RootCaCertificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        request.CertificateExtensions.Add(NameConstraints.Write(hostnames));
        using var certificate = Sign(request, RootCaCertificate, _rootCaKey, now - s_backdate, now + DeploymentCaLifetime);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Authenticates a client certificate: issued by the client CA (chain verified at <paramref name="now"/>), for client authentication, with a known role.</summary>
    /// <param name="certificate">What the client presented, or <see langword="null"/>.</param>
    /// <param name="now">The verification time.</param>
    /// <returns>The client, or <see langword="null"/> when the certificate is absent or not one of ours.</returns>
    public ClientIdentity? Authenticate(X509Certificate2? certificate, DateTimeOffset now)
    {
        if (certificate is null)
        {
            return null;
        }

        var thumbprint = Thumbprint(certificate);
        if (_authenticated.TryGetValue(thumbprint, out var verified) && now >= verified.NotBefore && now <= verified.NotAfter)
        {
            return verified.Identity;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ClientCaCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthOid));
        try
        {
            if (!chain.Build(certificate) || chain.ChainElements.Count != 2
                || !chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(ClientCaCertificate.RawDataMemory.Span))
            {
                return null;
            }
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                element.Certificate.Dispose();
            }
        }

        ClientRole? role = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.GetSingleElementType().Value == OrganizationalUnitOid)
            {
                role = rdn.GetSingleElementValue() switch
                {
                    "host" => ClientRole.Host,
                    "operator" => ClientRole.Operator,
                    _ => null,
                };
            }
        }

        var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (role is not { } known || !Names.IsEntityName(name))
        {
            return null;
        }

        var identity = new ClientIdentity(known, name, thumbprint);
        if (_authenticated.Count >= MaxAuthenticated)
        {
            _authenticated.Clear();
        }

        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime() < ClientCaCertificate.NotAfter.ToUniversalTime() ? certificate.NotAfter.ToUniversalTime() : ClientCaCertificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        _authenticated[thumbprint] = (identity, new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero), notAfter);
        return identity;
    }

    /// <summary>The SHA-256 of a certificate, lowercase hex: how hosts are recorded.</summary>
    /// <param name="certificate">The certificate.</param>
    /// <returns>64 hex digits.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="certificate"/> is <see langword="null"/>.</exception>
    public static string Thumbprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256));
    }

    /// <summary>Releases the keys.</summary>
    public void Dispose()
    {
        TlsCertificate.Dispose();
        TokenKey.Dispose();
        RootCaCertificate.Dispose();
        _rootCaKey.Dispose();
        ClientCaCertificate.Dispose();
        _clientCaKey.Dispose();
        ((IDisposable)StorageKey).Dispose();
    }

    private static X500DistinguishedName Subject(string name, ClientRole role) =>
        new($"CN={name}, OU={(role == ClientRole.Host ? "host" : "operator")}, O=Cloister");

    private static void CheckClientKey(PublicKey key)
    {
        using var ec = key.GetECDsaPublicKey();
        using var rsa = ec is null ? key.GetRSAPublicKey() : null;
        if (!(ec is { KeySize: 256 or 384 } || rsa is { KeySize: >= 2048 }))
        {
            throw new FormatException("the request's key is not EC P-256, EC P-384 or RSA of at least 2048 bits");
        }
    }

    private static X509Certificate2 IssueClient(X509Certificate2 issuer, ECDsa issuerKey, CertificateRequest request, DateTimeOffset now)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        return Sign(request, issuer, issuerKey, now - s_backdate, now + ClientCertificateLifetime);
    }

    private static X509Certificate2 Sign(CertificateRequest request, X509Certificate2 issuer, ECDsa issuerKey, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var end = notAfter < issuer.NotAfter ? notAfter : new DateTimeOffset(issuer.NotAfter.ToUniversalTime());
        return request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), notBefore, end, SerialNumber());
    }

    private static X509Certificate2 SelfSignedAuthority(string commonName, ECDsa key, DateTimeOffset now)
    {
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}, O=Cloister"), key, HashAlgorithmName.SHA384);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(now - s_backdate, now + s_authorityLifetime);
    }

    private static X509Certificate2 SelfSignedTls(ECDsa key, Uri url, DateTimeOffset now)
    {
        var request = new CertificateRequest(new X500DistinguishedName("CN=Cloister Provisioner, O=Cloister"), key, HashAlgorithmName.SHA384);
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(url.IdnHost, out var address))
        {
            names.AddIpAddress(address);
        }
        else
        {
            names.AddDnsName(url.IdnHost);
        }

        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], critical: false));
        return request.CreateSelfSigned(now - s_backdate, now + s_authorityLifetime);
    }

    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        return serial;
    }

    private static void WriteKey(string directory, string file, ECDsa key) =>
        OwnerOnlyFile.Write(Path.Combine(directory, file), System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n"));

    private static void WriteCertificate(string directory, string file, X509Certificate2 certificate) =>
        File.WriteAllText(Path.Combine(directory, file), certificate.ExportCertificatePem() + "\n");

    private static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new FormatException($"{path}: missing (a provisioner directory is made by `cloister provisioner init`)");
        }
    }

    private static ECDsa ReadKey(string directory, string file)
    {
        var path = Path.Combine(directory, file);
        RequireFile(path);
        if (!OwnerOnlyFile.IsOwnerOnly(path))
        {
            throw new FormatException($"{path}: a key must be readable by its owner only (chmod 600)");
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(ReadText(path));
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new FormatException($"{path}: not a PEM EC private key: {ex.Message}", ex);
        }

        if (key.KeySize != 384)
        {
            key.Dispose();
            throw new FormatException($"{path}: the key is {key.KeySize} bits, not P-384");
        }

        return key;
    }

    private static X509Certificate2 ReadCertificate(string directory, string file, ECDsa key)
    {
        var path = Path.Combine(directory, file);
        RequireFile(path);
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(ReadText(path));
        }
        catch (CryptographicException ex)
        {
            throw new FormatException($"{path}: not a PEM certificate: {ex.Message}", ex);
        }

        using var publicKey = certificate.GetECDsaPublicKey();
        if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            certificate.Dispose();
            throw new FormatException($"{path}: the certificate is not for the key beside it");
        }

        return certificate;
    }

    private static string ReadText(string path)
    {
        const int MaxPem = 64 << 10;
        var info = new FileInfo(path);
        return info.Length > MaxPem ? throw new FormatException($"{path}: larger than {MaxPem} bytes") : File.ReadAllText(path);
    }
}
