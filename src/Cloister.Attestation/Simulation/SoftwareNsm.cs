using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Cloister.Attestation.Documents;
using Cloister.Attestation.Nsm;

namespace Cloister.Attestation.Simulation;

/// <summary>
/// A Nitro Security Module in software: 32 SHA-384 PCRs, the NSM's request/response protocol byte for byte, and
/// attestation documents signed with a real ES384 key under a <see cref="SimulatedNitroRoot"/>. Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// At creation the boot PCRs are set from <see cref="SoftwareNsmOptions"/> and PCRs 0–15 are locked, as Nitro
/// does before the enclave's init runs. Semantics follow reference/eif-nsm-spec.md §5.3 and QEMU's virtio-nsm:
/// extending or locking a locked PCR is <see cref="NsmErrorCode.ReadOnlyIndex"/>, while <c>LockPCRs</c> over
/// already locked PCRs succeeds.
/// </para>
/// <para>
/// Attestation <c>user_data</c>, <c>nonce</c> and <c>public_key</c> may each be up to
/// <see cref="MaxAttestationFieldLength"/> bytes (what real NSMs accept); a larger one is
/// <see cref="NsmErrorCode.InvalidArgument"/>, since the request itself was well formed.
/// </para>
/// </remarks>
public sealed partial class SoftwareNsm : IDisposable
{
    /// <summary>The NSM version this simulation reports (QEMU's virtio-nsm reports the same).</summary>
    public static readonly Version Version = new(1, 0, 0);

    /// <summary>How many random bytes a <c>GetRandom</c> response carries (as QEMU's virtio-nsm).</summary>
    public const int RandomLength = 256;

    /// <summary>The largest <c>user_data</c>, <c>nonce</c> or <c>public_key</c> an attestation request may carry.</summary>
    public const int MaxAttestationFieldLength = AttestationDocumentKeys.MaxOptionalFieldLength;

    private const string Digest = "SHA384";

    private readonly Lock _lock = new();
    private readonly PcrBank _pcrs = new();
    private readonly SimulatedCertificateAuthority _authority;
    private readonly TimeProvider _timeProvider;
    private readonly bool _indefiniteLengthPayload;
    private bool _disposed;

    /// <summary>Boots a software NSM.</summary>
    /// <param name="root">The root the documents chain to; the caller keeps ownership and must keep it alive.</param>
    /// <param name="options">Boot PCRs and identity; defaults when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for document timestamps and certificate validity; the system clock when <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// A PCR index is outside 0–15 or a value is not 48 bytes; PCR3 or PCR4 is given both directly and through the
    /// role ARN or instance id; the instance id is not <c>i-</c> and 17 lowercase hex digits; the region is empty.
    /// </exception>
    public SoftwareNsm(SimulatedNitroRoot root, SoftwareNsmOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new SoftwareNsmOptions();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _indefiniteLengthPayload = options.IndefiniteLengthPayload;
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Region, nameof(options));

        var instanceId = options.ParentInstanceId ?? $"i-0{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}";
        if (!InstanceIdPattern().IsMatch(instanceId))
        {
            throw new ArgumentException($"parent instance id '{instanceId}' is not 'i-' and 17 lowercase hex digits", nameof(options));
        }

        SetBootPcrs(options, instanceId);
        _pcrs.LockRange(PcrBank.BootLockedCount);

        var now = _timeProvider.GetUtcNow();
        // As on AWS, the enclave id begins with its creation time in milliseconds (12 hex digits).
        ModuleId = string.Create(
            CultureInfo.InvariantCulture,
            $"{instanceId}-enc{now.ToUnixTimeMilliseconds():x12}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2))}");
        _authority = new SimulatedCertificateAuthority(root, ModuleId, options.Region, now);
    }

    /// <summary>The module id, <c>i-&lt;17 hex&gt;-enc&lt;16 hex&gt;</c> like AWS's.</summary>
    public string ModuleId { get; }

    /// <summary>
    /// Answers one raw request with one raw response, as <c>/dev/nsm</c> does: a request over
    /// <see cref="NsmCodec.MaxRequestLength"/> bytes gets <see cref="NsmErrorCode.InputTooLarge"/>, one that does not
    /// decode gets <see cref="NsmErrorCode.InvalidOperation"/>. Never throws for any request bytes.
    /// </summary>
    /// <param name="request">The CBOR request.</param>
    /// <returns>The CBOR response, at most <see cref="NsmCodec.ResponseBufferLength"/> bytes.</returns>
    /// <exception cref="ObjectDisposedException">The NSM has been disposed.</exception>
    public byte[] ProcessRequest(ReadOnlyMemory<byte> request)
    {
        NsmResponse response;
        if (request.Length > NsmCodec.MaxRequestLength)
        {
            response = new NsmErrorResponse(NsmErrorCode.InputTooLarge);
        }
        else
        {
            try
            {
                response = Process(NsmCodec.DecodeRequest(request));
            }
            catch (NsmFormatException)
            {
                response = new NsmErrorResponse(NsmErrorCode.InvalidOperation);
            }
        }

        return NsmCodec.Encode(response);
    }

    /// <summary>Answers one typed request; failures are <see cref="NsmErrorResponse"/>s, as the device reports them.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The response.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The NSM has been disposed.</exception>
    public NsmResponse Process(NsmRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return request switch
            {
                DescribePcrRequest describe => _pcrs.Describe(describe.Index),
                ExtendPcrRequest extend => _pcrs.Extend(extend.Index, extend.Data),
                LockPcrRequest lockOne => _pcrs.Lock(lockOne.Index),
                LockPcrsRequest lockRange => _pcrs.LockRange(lockRange.Range),
                DescribeNsmRequest => new DescribeNsmResponse(
                    (ushort)Version.Major, (ushort)Version.Minor, (ushort)Version.Build, ModuleId, PcrBank.Count, _pcrs.LockedIndexes(), NsmDigest.Sha384),
                AttestationRequest attestation => Attest(attestation),
                GetRandomRequest => new GetRandomResponse(RandomNumberGenerator.GetBytes(RandomLength)),
                // Every request type of the protocol is handled above; this is what the device answers to anything else.
                _ => new NsmErrorResponse(NsmErrorCode.InvalidOperation),
            };
        }
    }

    /// <summary>Releases the intermediate and leaf keys. The root is the caller's.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _authority.Dispose();
            }
        }
    }

    private void SetBootPcrs(SoftwareNsmOptions options, string instanceId)
    {
        foreach (var (index, value) in options.Pcrs)
        {
            if (index is < 0 or >= PcrBank.BootLockedCount || value is not { Length: PcrBank.Length })
            {
                throw new ArgumentException($"boot PCR {index}: expected an index in 0–15 and a {PcrBank.Length}-byte value", nameof(options));
            }

            _pcrs.Set(index, value);
        }

        MeasureIdentity(options, 3, options.ParentRoleArn);
        // Real hardware always measures the parent instance into PCR4, so a generated id is measured too.
        MeasureIdentity(options, 4, options.ParentInstanceId is null && options.Pcrs.ContainsKey(4) ? null : instanceId);
    }

    private void MeasureIdentity(SoftwareNsmOptions options, int index, string? identity)
    {
        if (identity is null)
        {
            return;
        }

        if (options.Pcrs.ContainsKey(index))
        {
            throw new ArgumentException($"PCR{index} is given both as a value and as the identity it measures", nameof(options));
        }

        _pcrs.Set(index, PcrBank.ExtendValue(new byte[PcrBank.Length], Encoding.UTF8.GetBytes(identity)));
    }

    private NsmResponse Attest(AttestationRequest request)
    {
        if (request.UserData is { Length: > MaxAttestationFieldLength }
            || request.Nonce is { Length: > MaxAttestationFieldLength }
            || request.PublicKey is { Length: > MaxAttestationFieldLength })
        {
            return new NsmErrorResponse(NsmErrorCode.InvalidArgument);
        }

        var now = _timeProvider.GetUtcNow();
        var (certificate, key, caBundle) = _authority.Signer(now);
        var document = new AttestationDocument(
            ModuleId,
            Digest,
            DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()),
            _pcrs.LockedValues(),
            certificate,
            caBundle,
            request.PublicKey,
            request.UserData,
            request.Nonce);
        return new AttestationResponse(AttestationDocumentWriter.Write(document, key, _indefiniteLengthPayload));
    }

    [GeneratedRegex("^i-[0-9a-f]{17}$")]
    private static partial Regex InstanceIdPattern();
}
