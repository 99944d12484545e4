using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Cloister.Host.Supervision;
using Cloister.Kms.Credentials;
using Cloister.Runtime.Vsock;

namespace Cloister.Host.Kms;

/// <summary>
/// The KMS credentials service on vsock 7004 (docs/kms.md, "Credentials"): each connection gets one
/// <see cref="KmsCredentialsLine"/> and is closed: the host's own AWS credentials, or <c>{"error": "…"}</c>.
/// </summary>
public sealed class KmsCredentialsService
{
    /// <summary>The bound on resolving credentials for one connection (IMDS may not answer).</summary>
    public static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the enclave may keep temporary credentials whose expiry the SDK does not state (the instance role's,
    /// which the SDK refreshes behind one object): a bound, so the enclave asks again well before IMDS rotates them.
    /// </summary>
    public static readonly TimeSpan UnstatedExpiry = TimeSpan.FromMinutes(15);

    private readonly Func<CancellationToken, Task<AwsCredentials>> _resolve;
    private readonly Action<string> _notice;

    /// <summary>Creates the service.</summary>
    /// <param name="resolve">Resolves the credentials for one connection; throws <see cref="KmsCredentialsException"/> when there are none.</param>
    /// <param name="notice">Receives one line per connection (never a secret).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public KmsCredentialsService(Func<CancellationToken, Task<AwsCredentials>> resolve, Action<string> notice)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        ArgumentNullException.ThrowIfNull(notice);
        _resolve = resolve;
        _notice = notice;
    }

    /// <summary>The service for <see cref="HostSupervisorOptions.Services"/>, on vsock <see cref="VsockEndpoint.KmsCredentialsPort"/>.</summary>
    public HostService Service => HostService.PerConnection(VsockEndpoint.KmsCredentialsPort, "KMS credentials", ServeAsync);

    /// <summary>
    /// The AWS SDK for .NET's default credential chain, resolved afresh: the environment (<c>AWS_ACCESS_KEY_ID</c>,
    /// <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>), web identity, the shared profile, then the EC2 instance
    /// role through IMDSv2 (<c>AWS_EC2_METADATA_SERVICE_ENDPOINT</c> moves it).
    /// </summary>
    /// <param name="timeProvider">The clock that dates <see cref="UnstatedExpiry"/>.</param>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>The credentials, with their expiry when temporary.</returns>
    /// <exception cref="KmsCredentialsException">No provider in the chain has credentials; the message (one line) has each one's reason.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<AwsCredentials> ResolveDefaultChainAsync(TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        try
        {
            using var chain = new DefaultAWSCredentialsIdentityResolver();
            var resolved = await chain.ResolveIdentityAsync(null, cancellationToken);
            var credentials = await resolved.GetCredentialsAsync();
            if (string.IsNullOrEmpty(credentials.AccessKey) || string.IsNullOrEmpty(credentials.SecretKey))
            {
                throw new KmsCredentialsException($"the AWS SDK's {resolved.GetType().Name} gave an empty access key or secret");
            }

            var token = credentials.UseToken ? credentials.Token : null;
            DateTimeOffset? expiration = resolved is RefreshingAWSCredentials { Expiration: { } stated }
                ? new DateTimeOffset(DateTime.SpecifyKind(stated, DateTimeKind.Utc))
                : token is null ? null : timeProvider.GetUtcNow() + UnstatedExpiry;
            return new AwsCredentials(credentials.AccessKey, credentials.SecretKey, token, expiration);
        }
        catch (Exception ex) when (ex is AmazonClientException or AmazonServiceException)
        {
            throw new KmsCredentialsException(OneLine(ex.Message), ex);
        }
    }

    /// <summary>Answers one connection with one line and ends its writes.</summary>
    /// <param name="stream">The enclave's connection; the caller disposes it.</param>
    /// <param name="cancellationToken">Cancels resolving and writing.</param>
    /// <returns>A task that completes once the line is written.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task ServeAsync(VsockStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] line;
        using (var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            bounded.CancelAfter(ResolveTimeout);
            try
            {
                var credentials = await _resolve(bounded.Token);
                line = KmsCredentialsLine.Write(credentials);
                _notice(credentials.Expiration is { } expiration
                    ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"kms: gave the enclave AWS credentials {credentials.AccessKeyId} (valid until {expiration:u})")
                    : $"kms: gave the enclave AWS credentials {credentials.AccessKeyId} (long-term keys)");
            }
            catch (KmsCredentialsException ex)
            {
                line = KmsCredentialsLine.WriteError(ex.Message);
                _notice($"kms: no AWS credentials for the enclave: {ex.Message}");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var reason = $"the AWS SDK's credential chain did not answer within {ResolveTimeout.TotalSeconds} s";
                line = KmsCredentialsLine.WriteError(reason);
                _notice($"kms: no AWS credentials for the enclave: {reason}");
            }
        }

        await stream.WriteAsync(line, cancellationToken);
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);
        stream.CompleteWrites();
    }

    // The SDK lists every provider's reason on a line of its own.
    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
