using Cloister.Attestation.Nsm;
using Cloister.Runtime.Nsm;

namespace Cloister.Enclave.Nitro;

/// <summary>Asks the NSM for an attestation document: the one exchange the local API and attested ingress share.</summary>
internal static class NsmAttestation
{
    /// <summary>The raw COSE_Sign1 document the NSM signed for <paramref name="request"/>.</summary>
    /// <exception cref="NsmAttestationException">The NSM answered an error or something other than a document, or its answer did not decode.</exception>
    /// <exception cref="IOException">The device failed (the simulator's socket broke, the ioctl failed).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<byte[]> GetDocumentAsync(NsmDevice nsm, AttestationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(nsm);
        ArgumentNullException.ThrowIfNull(request);
        var answer = await nsm.ExchangeAsync(NsmCodec.Encode(request), cancellationToken);
        NsmResponse response;
        try
        {
            response = NsmCodec.DecodeResponse(answer);
        }
        catch (NsmFormatException ex)
        {
            throw new NsmAttestationException($"NSM: {ex.Message}", ex);
        }

        return response switch
        {
            AttestationResponse attestation => attestation.Document,
            NsmErrorResponse error => throw new NsmAttestationException($"NSM answered {error.Code}", null),
            _ => throw new NsmAttestationException($"NSM answered {response.GetType().Name}", null),
        };
    }
}

/// <summary>The NSM refused an attestation request, or answered something that is not a document.</summary>
internal sealed class NsmAttestationException(string message, Exception? innerException) : IOException(message, innerException);
